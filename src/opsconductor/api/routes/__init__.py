"""The API's route modules, one per resource; each exposes `router`."""
