"""Operating the repository: metrics, logs, health and readiness, start-up checks, backup and restore."""
