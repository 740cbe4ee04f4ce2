"""In-app notifications and e-mail; mail leaves only after the request's commit."""
