"""The JSON API (``/api/v1``): personal API tokens, problem+json errors, the endpoints
and their OpenAPI document."""
