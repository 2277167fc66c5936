"""The demo collection: about 40 works of every type in Spanish, Portuguese, English and French,
from five member centres, in nested collections; some drafts, one withdrawn, one embargoed; and
(``repo demo``) a small PDF for each published text, so downloads, embargo badges and full-text
search show from the first start.

It goes through the same services as the API, so revisions, datestamps and the search outbox are
those of real deposits.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from repo.centres import service as centres
from repo.centres.schemas import CentreIn, CollectionIn
from repo.context import Context
from repo.works import service as works
from repo.works import visibility
from repo.works.models import Work
from repo.works.schemas import WithdrawIn, WorkIn

CENTRES = [
    ("flacso-ar", "Facultad Latinoamericana de Ciencias Sociales, Argentina", "AR", "https://ror.org/03cqe8w59"),
    ("cebrap", "Centro Brasileiro de Análise e Planejamento", "BR", None),
    ("colmex", "El Colegio de México", "MX", "https://ror.org/00gkhpw57"),
    ("iep", "Instituto de Estudios Peruanos", "PE", None),
    ("ird-fr", "Institut de recherche pour le développement", "FR", "https://ror.org/05q3vnk25"),
]

COLLECTIONS = [
    # slug, name, parent, centre
    ("biblioteca", "Biblioteca Virtual", None, None),
    ("libros", "Libros", "biblioteca", None),
    ("documentos-trabajo", "Documentos de trabajo", "biblioteca", None),
    ("revistas", "Revistas", "biblioteca", None),
    ("critica-juridica", "Crítica Jurídica", "revistas", None),
    ("multimedia", "Colecciones audiovisuales", None, None),
    ("conferencias", "Conferencias magistrales", "multimedia", None),
    ("fotografia", "Archivo fotográfico", "multimedia", None),
    ("tesis", "Tesis de posgrado", None, None),
]

P = dict  # a person


def _t(value: str, lang: str, type: str = "main") -> dict[str, str]:
    return {"value": value, "lang": lang, "type": type}


# (centre, collections, type, access, metadata, lifecycle) — lifecycle: published|draft|withdrawn|embargoed
WORKS: list[tuple[str, list[str], str, str, dict[str, Any], str]] = [
    ("flacso-ar", ["libros"], "book", "open", {
        "titles": [_t("Educación popular y movimientos sociales en América Latina", "spa"),
                   _t("Popular education and social movements in Latin America", "eng", "translated")],
        "abstracts": [{"value": "Un recorrido por las experiencias de educación popular inspiradas en Paulo Freire "
                                "y su relación con los movimientos campesinos, indígenas y urbanos.", "lang": "spa"}],
        "creators": [P(family="Gadotti", given="Moacir", orcid="0000-0002-1825-0097"),
                     P(family="Torres", given="Carlos Alberto")],
        "subjects": [{"value": "educación popular", "lang": "spa"}, {"value": "movimientos sociales", "lang": "spa"},
                     {"value": "Educación popular", "lang": "spa", "scheme": "UNESCO",
                      "uri": "http://vocabularies.unesco.org/thesaurus/concept4474"},
                     {"value": "Social movements", "lang": "eng", "scheme": "LCSH",
                      "uri": "http://id.loc.gov/authorities/subjects/sh85123405"},
                     {"value": "370.115", "scheme": "DDC"}],
        "languages": ["spa"], "publication_date": "2019-05", "publisher": "CLACSO", "place": "Buenos Aires",
        "edition": "2a ed.", "isbn": ["978-987-722-432-0"],
        "license": "https://creativecommons.org/licenses/by-nc-sa/4.0/",
        "countries": ["AR", "BR"], "extent": {"pages": 312}, "version": "VoR",
        "related_identifiers": [{"identifier": "20.500.12345/1840", "type": "Handle", "relation": "IsVersionOf"}]},
     "published"),
    ("cebrap", ["libros"], "book", "open", {
        "titles": [_t("Trabalhadores e sindicatos no Brasil contemporâneo", "por")],
        "abstracts": [{"value": "Análise das transformações do mundo do trabalho e da organização sindical "
                                "no Brasil desde a redemocratização.", "lang": "por"}],
        "creators": [P(family="Cardoso", given="Adalberto Moreira")],
        "subjects": [{"value": "trabalhadores", "lang": "por"}, {"value": "sindicalismo", "lang": "por"}],
        "languages": ["por"], "publication_date": "2015", "publisher": "Editora FGV", "place": "Rio de Janeiro",
        "license": "https://creativecommons.org/licenses/by/4.0/", "countries": ["BR"]}, "published"),
    ("colmex", ["documentos-trabajo"], "working_paper", "open", {
        "titles": [_t("Políticas públicas de vivienda en la Ciudad de México, 1990-2020", "spa")],
        "abstracts": [{"value": "Este documento examina las políticas de vivienda social y sus efectos en la "
                                "segregación urbana.", "lang": "spa"}],
        "creators": [P(family="Duhau", given="Emilio"), P(family="Giglia", given="Angela")],
        "subjects": [{"value": "vivienda", "lang": "spa"}, {"value": "política urbana", "lang": "spa"},
                     {"value": "R31", "scheme": "JEL"}],
        "languages": ["spa"], "publication_date": "2021-03-15",
        "series": {"title": "Documentos de trabajo del Centro de Estudios Demográficos", "number": "12"},
        "funding": [{"funder": "Consejo Nacional de Humanidades, Ciencias y Tecnologías",
                     "funder_id": "10.13039/501100003141", "award_number": "CF-2019-1234",
                     "award_title": "Vivienda y segregación en la Ciudad de México"}],
        "license": "https://creativecommons.org/licenses/by-nc/4.0/", "countries": ["MX"]}, "published"),
    ("iep", ["critica-juridica"], "journal_article", "open", {
        "titles": [_t("Derechos indígenas y consulta previa en los Andes", "spa"),
                   _t("Indigenous rights and prior consultation in the Andes", "eng", "translated")],
        "abstracts": [{"value": "Se analiza la implementación del derecho a la consulta previa en Perú y Bolivia.",
                       "lang": "spa"},
                      {"value": "The article analyses how the right to prior consultation is implemented in "
                                "Peru and Bolivia.", "lang": "eng"}],
        "creators": [P(family="Quispe Mamani", given="Rosa", affiliations=[{"name": "Instituto de Estudios Peruanos"}])],
        "subjects": [{"value": "pueblos indígenas", "lang": "spa"}, {"value": "consulta previa", "lang": "spa"}],
        "languages": ["spa"], "publication_date": "2022-07",
        "journal": {"title": "Crítica Jurídica", "issn": "0188-7653", "eissn": "0185-1187", "issn_l": "0188-7653",
                    "volume": "18", "issue": "2", "pages": {"start": "45", "end": "71"}},
        "doi": "10.1234/cj.2022.045", "license": "https://creativecommons.org/licenses/by/4.0/",
        "countries": ["PE", "BO"], "version": "VoR",
        "funding": [{"funder": "Agence Nationale de la Recherche", "funder_id": "https://ror.org/00rbzpz17",
                     "funding_stream": "AAPG", "award_number": "ANR-19-CE41-0007",
                     "award_uri": "https://anr.fr/Projet-ANR-19-CE41-0007"}],
        "related_identifiers": [{"identifier": "10.5555/data.iep.2022.01", "type": "DOI",
                                 "relation": "IsSupplementedBy"}]}, "published"),
    ("ird-fr", ["libros"], "book_part", "open", {
        "titles": [_t("Les migrations andines vers l'Europe : trajectoires et réseaux", "fra")],
        "abstracts": [{"value": "Ce chapitre retrace les trajectoires migratoires des Andes vers l'Espagne et la "
                                "France depuis les années 1990.", "lang": "fra"}],
        "creators": [P(family="Lévy", given="Hélène")],
        "subjects": [{"value": "migrations", "lang": "fra"}], "languages": ["fra"], "publication_date": "2018",
        "book": {"title": "Mobilités et territoires en Amérique latine", "isbn": "978-2-7099-2451-1",
                 "pages": {"start": "101", "end": "128"}},
        "publisher": "IRD Éditions", "place": "Marseille",
        "license": "https://creativecommons.org/licenses/by-nc-nd/4.0/", "countries": ["EC", "ES", "FR"]}, "published"),
    ("flacso-ar", ["conferencias"], "lecture", "open", {
        "titles": [_t("Conferencia magistral: la desigualdad en América Latina", "spa")],
        "abstracts": [{"value": "Grabación de la conferencia inaugural de la Conferencia Latinoamericana y "
                                "Caribeña de Ciencias Sociales.", "lang": "spa"}],
        "creators": [P(family="Bárcena", given="Alicia", role="speaker")],
        "subjects": [{"value": "desigualdad", "lang": "spa"}], "languages": ["spa"], "publication_date": "2018-11-19",
        "conference": {"name": "Conferencia Latinoamericana y Caribeña de Ciencias Sociales", "acronym": "CLACSO",
                       "number": "8", "place": "Buenos Aires", "country": "AR", "start": "2018-11-19",
                       "end": "2018-11-23"},
        "license": "https://creativecommons.org/licenses/by/4.0/", "extent": {"duration": "PT1H12M"}}, "published"),
    ("cebrap", ["conferencias"], "video", "open", {
        "titles": [_t("Democracia e participação: debate em São Paulo", "por")],
        "abstracts": [{"value": "Vídeo do debate sobre orçamento participativo e democracia local.", "lang": "por"}],
        "creators": [P(family="Avritzer", given="Leonardo", role="speaker")],
        "subjects": [{"value": "democracia", "lang": "por"}, {"value": "orçamento participativo", "lang": "por"}],
        "languages": ["por"], "publication_date": "2017-04-03", "place": "São Paulo",
        "license": "https://creativecommons.org/licenses/by-sa/4.0/", "extent": {"duration": "PT58M"}}, "published"),
    ("colmex", ["fotografia"], "image", "open", {
        "titles": [_t("Mercado de la Merced, 1968", "spa")],
        "abstracts": [{"value": "Fotografía en blanco y negro del mercado de la Merced.", "lang": "spa"}],
        "creators": [P(family="Mayo", given="Hermanos", role="photographer")],
        "languages": ["zxx"], "publication_date": "1968", "countries": ["MX"],
        "license": "https://creativecommons.org/publicdomain/mark/1.0/"}, "published"),
    ("iep", ["multimedia"], "sound", "open", {
        "titles": [_t("Testimonios orales de la reforma agraria", "spa")],
        "abstracts": [{"value": "Entrevistas con campesinos de Cusco sobre la reforma agraria de 1969.", "lang": "spa"}],
        "creators": [P(family="Fernández", given="Carmen", role="interviewer")],
        "subjects": [{"value": "reforma agraria", "lang": "spa"}], "languages": ["spa", "que"],
        "publication_date": "2009", "countries": ["PE"], "extent": {"duration": "PT2H5M"},
        "license": "https://creativecommons.org/licenses/by-nc/4.0/"}, "published"),
    ("flacso-ar", ["tesis"], "doctoral_thesis", "embargoed", {
        "titles": [_t("Juventudes, trabajo y precariedad en el conurbano bonaerense", "spa")],
        "abstracts": [{"value": "Tesis doctoral sobre las trayectorias laborales de jóvenes en el Gran Buenos Aires.",
                       "lang": "spa"}],
        "creators": [P(family="Pérez", given="Lucía")],
        "contributors": [P(family="Svampa", given="Maristella", role="supervisor")],
        "subjects": [{"value": "juventud", "lang": "spa"}, {"value": "precariedad laboral", "lang": "spa"}],
        "languages": ["spa"], "publication_date": "2024-06", "publisher": "FLACSO Argentina",
        "countries": ["AR"], "license": "https://creativecommons.org/licenses/by-nc-nd/4.0/"}, "embargoed"),
    ("cebrap", ["tesis"], "master_thesis", "open", {
        "titles": [_t("Políticas de saúde indígena na Amazônia", "por")],
        "abstracts": [{"value": "Estudo das políticas de atenção à saúde dos povos indígenas e da participação das "
                                "mulheres indígenas nos conselhos locais de saúde.", "lang": "por"}],
        "creators": [P(family="Souza", given="João")], "languages": ["por"], "publication_date": "2020",
        "contributors": [P(family="Carneiro da Cunha", given="Manuela", role="supervisor")],
        "publisher": "Universidade de São Paulo",
        "subjects": [{"value": "saúde indígena", "lang": "por"}], "countries": ["BR"],
        "license": "https://creativecommons.org/licenses/by/4.0/"}, "published"),
    ("colmex", ["documentos-trabajo"], "report", "open", {
        "titles": [_t("Informe sobre la pobreza multidimensional en México", "spa")],
        "creators": [P(name="El Colegio de México, Centro de Estudios Sociológicos")],
        "languages": ["spa"], "publication_date": "2023", "publisher": "El Colegio de México",
        "subjects": [{"value": "pobreza", "lang": "spa"}], "countries": ["MX"],
        "license": "https://creativecommons.org/licenses/by/4.0/"}, "published"),
    ("ird-fr", ["documentos-trabajo"], "preprint", "open", {
        "titles": [_t("Climate change adaptation in Andean smallholder farming", "eng")],
        "abstracts": [{"value": "We review adaptation strategies of smallholder farmers in Ecuador and Peru.",
                       "lang": "eng"}],
        "creators": [P(family="Martin", given="Sophie"), P(family="Ramírez", given="Diego")],
        "languages": ["eng"], "publication_date": "2024-02-10", "version": "AO",
        "subjects": [{"value": "climate change", "lang": "eng"}], "countries": ["EC", "PE"],
        "funding": [{"funder": "Agence Nationale de la Recherche", "funder_id": "https://ror.org/00rbzpz17",
                     "award_number": "ANR-20-CE03-0001", "award_title": "Andean adaptation"}],
        "related_identifiers": [{"identifier": "arXiv:2402.01234", "type": "arXiv", "relation": "IsIdenticalTo"}],
        "license": "https://creativecommons.org/licenses/by/4.0/"}, "published"),
    ("iep", ["critica-juridica"], "review", "open", {
        "titles": [_t("Reseña de «Las venas abiertas de América Latina», cincuenta años después", "spa")],
        "creators": [P(family="Galindo", given="Alberto")], "languages": ["spa"], "publication_date": "2021",
        "journal": {"title": "Crítica Jurídica", "issn": "0188-7653", "volume": "17", "issue": "1"},
        "related_identifiers": [{"identifier": "978-968-23-1754-5", "type": "ISBN", "relation": "Reviews"}],
        "license": "https://creativecommons.org/licenses/by/4.0/"}, "published"),
    ("flacso-ar", ["biblioteca"], "conference_paper", "open", {
        "titles": [_t("Género y cuidados: una agenda para la política social", "spa")],
        "creators": [P(family="Faur", given="Eleonor")], "languages": ["spa"], "publication_date": "2019-10",
        "subjects": [{"value": "cuidados", "lang": "spa"}, {"value": "género", "lang": "spa"}],
        "conference": {"name": "Congreso de la Asociación Latinoamericana de Sociología", "acronym": "ALAS",
                       "number": "32", "place": "Lima", "country": "PE", "start": "2019-12-01", "end": "2019-12-06"},
        "book": {"title": "Actas del XXXII Congreso ALAS", "pages": {"start": "210", "end": "225"}},
        "publisher": "ALAS", "place": "Lima",
        "license": "https://creativecommons.org/licenses/by-nc/4.0/"}, "published"),
    ("cebrap", ["documentos-trabajo"], "working_paper", "restricted", {
        "titles": [_t("Desigualdade racial no mercado de trabalho brasileiro", "por")],
        "creators": [P(family="Guimarães", given="Nadya Araujo")], "languages": ["por"],
        "publication_date": "2016", "subjects": [{"value": "desigualdade racial", "lang": "por"}],
        "series": {"title": "Textos para discussão", "number": "88"}}, "published"),
    ("colmex", ["libros"], "book", "metadata_only", {
        "titles": [_t("Historia mínima de la Revolución mexicana", "spa")],
        "creators": [P(family="Garciadiego", given="Javier")], "languages": ["spa"], "publication_date": "2010",
        "publisher": "El Colegio de México", "place": "Ciudad de México", "isbn": ["978-607-462-107-5"]}, "published"),
    ("ird-fr", ["libros"], "book", "open", {
        "titles": [_t("L'Amérique latine et ses villes : urbanisation et inégalités", "fra"),
                   _t("América Latina y sus ciudades", "spa", "translated")],
        "creators": [P(family="Dureau", given="Françoise")], "languages": ["fra"], "publication_date": "2014",
        "publisher": "IRD Éditions", "place": "Marseille",
        "license": "https://creativecommons.org/licenses/by-nc-sa/4.0/"}, "published"),
    ("iep", ["libros"], "book", "open", {
        "titles": [_t("Economía política del Perú: 1950-2020", "spa")],
        "creators": [P(family="Cotler", given="Julio")], "languages": ["spa"], "publication_date": "2020",
        "publisher": "IEP", "place": "Lima", "subjects": [{"value": "economía política", "lang": "spa"}],
        "license": "https://creativecommons.org/licenses/by-nc/4.0/", "countries": ["PE"]}, "published"),
    ("flacso-ar", ["documentos-trabajo"], "working_paper", "open", {
        "titles": [_t("Número y territorio: estadísticas sociales en la Argentina", "spa")],
        "creators": [P(family="Otero", given="Hernán")], "languages": ["spa"], "publication_date": "2012",
        "series": {"title": "Documentos de trabajo FLACSO", "number": "45"},
        "license": "https://creativecommons.org/licenses/by/4.0/"}, "published"),
    ("cebrap", ["critica-juridica"], "journal_article", "open", {
        "creators": [P(family="Gohn", given="Maria da Glória", orcid="0000-0001-5109-3700",
                       affiliations=[{"name": "Universidade Estadual de Campinas", "country": "BR"}]),
                     P(family="de la Fuente", given="Luis", affiliations=[
                         {"name": "Facultad Latinoamericana de Ciencias Sociales", "ror": "https://ror.org/03cqe8w59",
                          "country": "AR"}])],
        "titles": [_t("Movimentos sociais urbanos em São Paulo", "por"),
                   _t("Urban social movements in São Paulo", "eng", "translated"),
                   _t("Movimientos sociales urbanos en São Paulo", "spa", "translated")],
        "abstracts": [{"value": "Os movimentos de moradia e as lutas urbanas pelo direito à cidade na metrópole "
                                "paulistana.", "lang": "por"},
                      {"value": "The article analyses housing movements in São Paulo since the 1970s.", "lang": "eng"},
                      {"value": "El artículo analiza las luchas urbanas en São Paulo desde los años setenta.",
                       "lang": "spa"}],
        "languages": ["por"], "publication_date": "2013-08",
        "journal": {"title": "Novos Estudos CEBRAP", "issn": "0101-3300", "eissn": "1980-5403", "issn_l": "0101-3300",
                    "volume": "32", "issue": "96", "pages": {"start": "9", "end": "27"}},
        "subjects": [{"value": "movimentos sociais", "lang": "por"}],
        "license": "https://creativecommons.org/licenses/by/4.0/", "countries": ["BR"]}, "published"),
    ("colmex", ["conferencias"], "lecture", "open", {
        "titles": [_t("Lecture: Migration between Mexico and the United States", "eng")],
        "abstracts": [{"value": "Jorge Durand discusses migrant workers, the remittances they send home and the "
                                "policies that shaped migration flows between the two countries.", "lang": "eng"}],
        "creators": [P(family="Durand", given="Jorge", role="speaker")], "languages": ["eng"],
        "publication_date": "2016-09-22", "license": "https://creativecommons.org/licenses/by/4.0/",
        "extent": {"duration": "PT47M"}, "countries": ["MX", "US"]}, "published"),
    ("ird-fr", ["fotografia"], "image", "open", {
        "titles": [_t("Marché de Otavalo", "fra")], "creators": [P(family="Bernard", given="Luc", role="photographer")],
        "languages": ["zxx"], "publication_date": "1995", "countries": ["EC"],
        "license": "https://creativecommons.org/licenses/by/4.0/"}, "published"),
    ("iep", ["tesis"], "bachelor_thesis", "open", {
        "titles": [_t("Organizaciones de mujeres en Villa El Salvador", "spa")],
        "creators": [P(family="Huamán", given="Julia")], "languages": ["spa"], "publication_date": "2017",
        "publisher": "Pontificia Universidad Católica del Perú",
        "license": "https://creativecommons.org/licenses/by/4.0/", "countries": ["PE"]}, "published"),
    ("flacso-ar", ["libros"], "book", "open", {
        "titles": [_t("Pensamiento crítico latinoamericano: antología esencial", "spa")],
        "creators": [P(family="Fals Borda", given="Orlando"), P(family="Quijano", given="Aníbal")],
        "contributors": [P(family="Moreno", given="Víctor", role="editor")],
        "languages": ["spa"], "publication_date": "2014", "publisher": "CLACSO", "place": "Buenos Aires",
        "isbn": ["978-987-722-012-4"], "license": "https://creativecommons.org/licenses/by-nc-sa/4.0/",
        "subjects": [{"value": "pensamiento crítico", "lang": "spa"}, {"value": "colonialidad", "lang": "spa"}]}, "published"),
    ("cebrap", ["libros"], "book_part", "open", {
        "titles": [_t("A questão agrária e os trabalhadores rurais", "por")],
        "creators": [P(family="Medeiros", given="Leonilde")], "languages": ["por"], "publication_date": "2011",
        "book": {"title": "Campesinato e reforma agrária", "isbn": "978-85-7139-820-7",
                 "editors": [P(family="Fernandes", given="Bernardo Mançano"), P(family="Welch", given="Clifford Andrew")],
                 "pages": {"start": "33", "end": "60"}},
        "publisher": "Editora UNESP", "place": "São Paulo",
        "license": "https://creativecommons.org/licenses/by/4.0/"}, "published"),
    ("colmex", ["documentos-trabajo"], "report", "open", {
        "titles": [_t("Education and inequality in Latin America: a comparative report", "eng")],
        "abstracts": [{"value": "Comparing school enrolment and learning outcomes across twelve countries, the "
                                "report finds that public spending narrows the gaps between rich and poor children.",
                       "lang": "eng"}],
        "creators": [P(family="Reimers", given="Fernando")], "languages": ["eng"], "publication_date": "2019",
        "subjects": [{"value": "education", "lang": "eng"}],
        "license": "https://creativecommons.org/licenses/by/4.0/"}, "published"),
    ("ird-fr", ["documentos-trabajo"], "working_paper", "open", {
        "titles": [_t("Politiques éducatives en Haïti après le séisme", "fra")],
        "abstracts": [{"value": "Ce document analyse la reconstruction du système scolaire et les réformes de "
                                "l'enseignement de base après le tremblement de terre de 2010.", "lang": "fra"}],
        "creators": [P(family="Joseph", given="Marie-Claude")], "languages": ["fra"], "publication_date": "2015",
        "countries": ["HT"], "license": "https://creativecommons.org/licenses/by/4.0/"}, "published"),
    ("iep", ["multimedia"], "video", "open", {
        "titles": [_t("Documental: el agua en Cajamarca", "spa")],
        "creators": [P(family="Vargas", given="Ernesto", role="director")], "languages": ["spa"],
        "contributors": [P(name="Instituto de Estudios Peruanos", role="producer")],
        "publication_date": "2012", "countries": ["PE"], "extent": {"duration": "PT35M"},
        "license": "https://creativecommons.org/licenses/by-nc-nd/4.0/"}, "published"),
    ("flacso-ar", ["critica-juridica"], "journal_article", "open", {
        "titles": [_t("La protesta social como derecho", "spa")],
        "creators": [P(family="Gargarella", given="Roberto")], "languages": ["spa"], "publication_date": "2008",
        "journal": {"title": "Crítica Jurídica", "issn": "0188-7653", "volume": "4", "issue": "1"},
        "license": "https://creativecommons.org/licenses/by/4.0/"}, "published"),
    ("cebrap", ["biblioteca"], "other", "open", {
        "titles": [_t("Cadernos de campo: pesquisa etnográfica na periferia", "por")],
        "abstracts": [{"value": "Notas de pesquisa sobre as famílias trabalhadoras e os jovens das periferias de "
                                "São Paulo.", "lang": "por"}],
        "creators": [P(family="Feltran", given="Gabriel")], "languages": ["por"], "publication_date": "2010",
        "license": "https://creativecommons.org/licenses/by/4.0/"}, "published"),
    ("colmex", ["libros"], "book", "open", {
        "titles": [_t("El Colegio de México: una historia institucional", "spa")],
        "creators": [P(family="Lida", given="Clara")], "languages": ["spa"], "publication_date": "1990",
        "publisher": "El Colegio de México", "license": "https://creativecommons.org/licenses/by/4.0/"}, "published"),
    ("ird-fr", ["conferencias"], "lecture", "open", {
        "titles": [_t("Conférence : développement durable et savoirs autochtones", "fra")],
        "abstracts": [{"value": "Philippe Descola interroge les rapports entre les peuples autochtones, leurs savoirs "
                                "de la nature et les politiques de conservation.", "lang": "fra"}],
        "creators": [P(family="Descola", given="Philippe", role="speaker")], "languages": ["fra"],
        "publication_date": "2019-03-12", "license": "https://creativecommons.org/licenses/by/4.0/"}, "published"),
    ("iep", ["documentos-trabajo"], "working_paper", "open", {
        "titles": [_t("Elecciones y partidos en el Perú del siglo XXI", "spa")],
        "creators": [P(family="Tanaka", given="Martín")], "languages": ["spa"], "publication_date": "2016",
        "series": {"title": "Documentos de trabajo IEP", "number": "220"},
        "license": "https://creativecommons.org/licenses/by/4.0/"}, "withdrawn"),
    # drafts: incomplete on purpose, as editors leave them
    ("flacso-ar", ["libros"], "book", "open", {
        "titles": [_t("Borrador: historia de la educación en Argentina", "spa")],
        "creators": [P(family="Puiggrós", given="Adriana")]}, "draft"),
    ("cebrap", [], "journal_article", "open", {
        "titles": [_t("Rascunho: desigualdade e tributação", "por")]}, "draft"),
    ("colmex", ["tesis"], "doctoral_thesis", "open", {
        "titles": [_t("Borrador de tesis: migración y remesas", "spa")],
        "creators": [P(family="García", given="Ana")], "languages": ["spa"]}, "draft"),
    ("iep", ["libros"], "book", "open", {
        "titles": [_t("Violencia política y memoria en Ayacucho", "spa")],
        "creators": [P(family="Degregori", given="Carlos Iván")], "languages": ["spa"], "publication_date": "2011",
        "publisher": "IEP", "place": "Lima", "license": "https://creativecommons.org/licenses/by-nc/4.0/"}, "published"),
    ("ird-fr", ["libros"], "book", "open", {
        "titles": [_t("Indigenous territories and extractivism in the Amazon", "eng"),
                   _t("Territorios indígenas y extractivismo en la Amazonía", "spa", "translated"),
                   _t("Territórios indígenas e extrativismo na Amazônia", "por", "translated")],
        "creators": [P(family="Ulloa", given="Astrid")], "languages": ["eng"], "publication_date": "2023",
        "countries": ["BR", "CO", "EC", "PE"], "license": "https://creativecommons.org/licenses/by/4.0/"}, "published"),
    ("flacso-ar", ["conferencias"], "sound", "open", {
        "titles": [_t("Podcast: economía feminista", "spa")], "creators": [P(family="Rodríguez Enríquez", given="Corina", role="speaker")],
        "languages": ["spa"], "publication_date": "2022-03-08", "extent": {"duration": "PT42M"},
        "license": "https://creativecommons.org/licenses/by/4.0/"}, "published"),
]


def load(ctx: Context) -> int:
    """Create the demo centres, collections and works; return the number of works."""
    for slug, name, country, ror in CENTRES:
        centres.create_centre(ctx, CentreIn(slug=slug, name=name, country=country, ror=ror))
    for slug, name, parent, centre in COLLECTIONS:
        centres.create_collection(ctx, CollectionIn(slug=slug, name=name, parent=parent, centre=centre))
    for centre, collections, type_, access, metadata, lifecycle in WORKS:
        embargo = ctx.now.date() + timedelta(days=365) if lifecycle == "embargoed" else None
        work = works.create(ctx, WorkIn.model_validate({
            "centre": centre, "collections": collections, "type": type_,
            "access_right": "embargoed" if embargo else access, "embargo_end": embargo, "metadata": metadata,
        }))
        if lifecycle != "draft":
            works.publish(ctx, work.id, None)
        if lifecycle == "withdrawn":
            works.withdraw(ctx, work.id, WithdrawIn(reason="Duplicate of a later edition deposited by the author."), None)
    return len(WORKS)


#: Works of these types get a PDF (not the recordings, videos and photographs).
TEXT_TYPES = ["book", "book_part", "working_paper", "journal_article", "conference_paper", "report",
              "doctoral_thesis", "master_thesis", "bachelor_thesis", "review", "preprint"]
_FILE_NAMES = {"spa": "texto-completo.pdf", "por": "texto-completo.pdf", "fra": "texte-integral.pdf"}
_KEYWORDS = {"spa": "Palabras clave", "por": "Palavras-chave", "fra": "Mots-clés"}


async def attach_files(ctx: Context) -> int:
    """Upload a PDF (title, authors, abstracts and keywords as its text) for each published text
    work, and a recording, a video with captions or a photograph for the others, and a second PDF
    to two works (``_extra_files``), through the files service like any upload; return how many.
    Extraction is left to the caller (``repo files extract``)."""
    from repo.files import service as files
    from repo.files.pdf import document

    found = ctx.session.scalars(sa.select(Work).where(
        visibility.public_record(), Work.type.in_(TEXT_TYPES)).order_by(Work.id)).all()
    for work in found:
        doc = work.doc
        language = (doc.get("languages") or ["eng"])[0]
        byline = "; ".join(" ".join(filter(None, (c.get("given"), c.get("family")))) or c.get("name", "")
                           for c in doc.get("creators", []))
        paragraphs = [a["value"] for a in doc.get("abstracts", [])]
        if doc.get("subjects"):
            paragraphs.append(f"{_KEYWORDS.get(language, 'Keywords')}: " + ", ".join(s["value"] for s in doc["subjects"]))
        pdf = document(doc["titles"][0]["value"], byline, paragraphs)

        async def body(data: bytes = pdf) -> AsyncIterator[bytes]:
            yield data

        await files.upload(ctx, work.id, _FILE_NAMES.get(language, "full-text.pdf"), body(),
                           content_type="application/pdf", content_length=str(len(pdf)), if_match=None, access=None)
    recordings = ctx.session.scalars(sa.select(Work).where(
        visibility.public_record(), Work.type.in_(["sound", "lecture", "video", "image"])).order_by(Work.id)).all()
    attached = 0
    for work in recordings:  # so that recordings play, videos have captions and photographs show
        for name, data, media_type in media_for(work):

            async def chunks(data: bytes = data) -> AsyncIterator[bytes]:
                yield data

            await files.upload(ctx, work.id, name, chunks(), content_type=media_type,
                               content_length=str(len(data)), if_match=None, access=None)
            attached += 1
    return len(found) + attached + await _extra_files(ctx, found)


def wav_tone(seconds: float = 2.0, rate: int = 8000, pitch: float = 440.0) -> bytes:
    """A short sine tone as 16-bit mono WAV (the demo's recordings; the browser tests play it)."""
    import io
    import math
    import struct
    import wave

    frames = int(seconds * rate)
    samples = b"".join(struct.pack("<h", int(12000 * math.sin(2 * math.pi * pitch * i / rate)
                                             * min(1.0, i / 800, (frames - i) / 800))) for i in range(frames))
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(samples)
    return buffer.getvalue()


def png_picture(width: int = 480, height: int = 320) -> bytes:
    """A small PNG (bands of the site's colours): the demo's photographs."""
    import struct
    import zlib

    bands = [(11, 79, 138), (255, 191, 71), (226, 243, 231), (27, 31, 36)]
    rows = b"".join(b"\x00" + bytes(bands[(y * len(bands)) // height]) * width for y in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b"")


#: A two-second WebM video (VP8, 160×90) recorded once with Chromium's MediaRecorder.
VIDEO = Path(__file__).parent / "demo_media" / "clip.webm"


def captions(language: str) -> bytes:
    """WebVTT captions for the demo video, in its language."""
    text = {"por": "Abertura do debate", "spa": "Apertura del debate"}.get(language, "Opening of the debate")
    return f"WEBVTT\n\n00:00:00.000 --> 00:00:02.000\n{text}\n".encode()


def media_for(work: Work) -> list[tuple[str, bytes, str]]:
    """The files a demo recording, video or photograph gets: (name, bytes, media type)."""
    language = (work.doc.get("languages") or ["spa"])[0]
    if work.type in ("sound", "lecture"):
        return [("grabacion.wav", wav_tone(), "audio/wav")]
    if work.type == "video":
        code = language if language in ("por", "spa") else "eng"
        return [("video.webm", VIDEO.read_bytes(), "video/webm"), (f"video.{code}.vtt", captions(language), "text/vtt")]
    if work.type == "image":
        return [("fotografia.png", png_picture(), "image/png")]
    return []


async def _extra_files(ctx: Context, found: Sequence[Work]) -> int:
    """Two works with a second file: a book whose statistical annex would sort before its full
    text (so the editor names the main file), and a preprint whose interview data stay restricted
    (per-file access: the file is listed on the page, linked from no public record)."""
    from repo.files import service as files
    from repo.files.pdf import document
    from repo.files.schemas import FileAccessIn

    book = next((w for w in found if w.type == "book" and w.doc.get("edition")), None)
    preprint = next((w for w in found if w.type == "preprint"), None)
    for work, name, access in ((book, "anexo-estadistico.pdf", None),
                               (preprint, "interview-data.pdf", FileAccessIn(access_right="restricted"))):
        if work is None:
            continue
        pdf = document(name.removesuffix(".pdf").replace("-", " ").capitalize(), "", [work.doc["titles"][0]["value"]])

        async def body(data: bytes = pdf) -> AsyncIterator[bytes]:
            yield data

        await files.upload(ctx, work.id, name, body(), content_type="application/pdf",
                           content_length=str(len(pdf)), if_match=None, access=access)
    if book is not None:
        works.patch(ctx, book.id, {"main_file": "texto-completo.pdf"}, None)
    return sum(work is not None for work in (book, preprint))


def load_synthetic(ctx: Context, count: int, *, seed: int, console: Any = None) -> int:
    """A deterministic synthetic corpus of ``count`` works (for tests and benchmarks)."""
    from repo.synthetic import generate

    return generate(ctx, count, seed=seed, console=console)


__all__ = ["load", "load_synthetic", "date"]
