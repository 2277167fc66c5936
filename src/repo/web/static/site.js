// Reading room: the pages work without this file; it only folds the search facets on small screens.
(function () {
  "use strict";
  var narrow = window.matchMedia("(max-width: 48rem)");
  function fold() {
    var panels = document.querySelectorAll("details.facets-panel");
    for (var i = 0; i < panels.length; i++) {
      panels[i].open = !narrow.matches;
    }
  }
  document.addEventListener("DOMContentLoaded", fold);
  if (narrow.addEventListener) { narrow.addEventListener("change", fold); }
}());
