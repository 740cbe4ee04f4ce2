"""Domain errors: raised by services, turned into form errors by views."""


class DomainError(Exception):
    """A rule of the domain refused the action. ``field`` names the form field it is about.

    ``message`` is a lazy translated string, so it is shown in the reader's language.
    """

    #: machine-readable code for the JSON API (problem+json)
    code = "invalid"

    def __init__(self, message, field: str | None = None, code: str | None = None):
        super().__init__(str(message))
        self.message = message
        self.field = field
        if code is not None:
            self.code = code

    def apply_to(self, form) -> None:
        """Show the error next to its field, or above the form."""
        field = getattr(form, self.field, None) if self.field else None
        if field is not None:
            field.errors = [*field.errors, self.message]
        else:
            form.form_errors.append(self.message)
