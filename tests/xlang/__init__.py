"""The bundle and golden vectors used from another language (JavaScript, with Ajv)."""
