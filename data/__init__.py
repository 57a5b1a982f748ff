"""Reference data bundled with the library (installed as ``placement.data``)."""
