"""Listing pictures: up to three per listing, checked, resized and stored without metadata.

An upload is trusted only after Pillow has opened, verified and fully decoded it as a
JPEG, PNG or WebP of sane dimensions. What is stored is a fresh encoding of the pixels
alone (JPEG, or WebP when the picture has transparency), at most 1600 pixels on its long
side, so no EXIF, GPS position or other metadata of the original ever reaches the disk.
Files live in ``UPLOAD_DIR`` (default ``<instance>/uploads``) under a random name and are
served only through a view that applies the listing's visibility rules.

Files and the database are kept in step with the session's transaction, as mail is: a
new file is deleted again when the transaction ends without a commit, and the file of a
removed picture is deleted only after the commit.
"""

import io
import os
import secrets
from pathlib import Path

from flask import current_app
from flask_babel import lazy_gettext as _l
from PIL import Image, ImageOps
from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction
from werkzeug.datastructures import FileStorage

from ruilkring import clock
from ruilkring.audit.services import audit_record
from ruilkring.auth.models import User
from ruilkring.errors import DomainError
from ruilkring.extensions import db
from ruilkring.listings.models import Listing, ListingPicture, ListingStatus

MAX_PICTURES = 3
MAX_SIDE = 1600  # pixels, the long side of a stored picture
QUALITY = 85
ACCEPTED_FORMATS = ("JPEG", "PNG", "WEBP")

_NEW_FILES_KEY = "ruilkring_picture_files_written"
_DOOMED_FILES_KEY = "ruilkring_picture_files_to_delete"


def upload_folder() -> Path:
    return Path(current_app.config["UPLOAD_DIR"])


def picture_path(picture: ListingPicture) -> Path:
    return upload_folder() / picture.filename


def picture_add(*, listing: Listing, upload: FileStorage, added_by: User) -> ListingPicture:
    """Check ``upload`` and store it as a new picture of ``listing``.

    Refuses files over ``MAX_PICTURE_BYTES``, anything that is not a complete JPEG, PNG
    or WebP, pictures of more than ``Image.MAX_IMAGE_PIXELS`` pixels (decompression
    bombs), a fourth picture, and pictures for hidden or closed listings.
    """
    if listing.status in (ListingStatus.HIDDEN, ListingStatus.CLOSED):
        raise DomainError(_l("Bij deze advertentie kunnen geen foto's meer worden gezet."), field="upload")
    if len(listing.pictures) >= MAX_PICTURES:
        raise DomainError(_l("Een advertentie kan hoogstens %(n)d foto's hebben. Verwijder eerst een foto.",
                             n=MAX_PICTURES), field="upload")
    data = _read_upload(upload)
    encoded, extension, (width, height) = _clean_image(data)

    picture = ListingPicture(
        listing=listing, filename=f"{secrets.token_urlsafe(24)}.{extension}",
        width=width, height=height, created_at=clock.now(),
    )
    # The file is written only now, after every check, and before the row is flushed. If
    # the flush fails it is deleted at once; if the transaction later ends without a
    # commit (a rollback, an error in the view, the session closed), the session hook
    # below deletes it. So a failed transaction never leaves an orphan file, and a
    # committed row always has its file (which writing after the commit could not promise).
    path = upload_folder() / picture.filename
    _write_file(path, encoded)
    try:
        db.session.add(picture)
        db.session.flush()
    except Exception:
        path.unlink(missing_ok=True)
        raise
    db.session.info.setdefault(_NEW_FILES_KEY, []).append(str(path))
    if added_by.id != listing.owner.user_id:
        audit_record(actor=added_by, action="listing.picture_add_on_behalf", subject=listing.owner,
                     new={"listing": listing.id, "picture": picture.id})
    return picture


def picture_remove(*, picture: ListingPicture, removed_by: User) -> None:
    """Delete a picture: the row now, the file once the transaction commits."""
    listing = picture.listing
    path = picture_path(picture)
    if picture in listing.pictures:
        listing.pictures.remove(picture)
    db.session.delete(picture)
    db.session.flush()
    db.session.info.setdefault(_DOOMED_FILES_KEY, []).append(str(path))
    if removed_by.id != listing.owner.user_id:
        audit_record(actor=removed_by, action="listing.picture_remove_on_behalf", subject=listing.owner,
                     old={"listing": listing.id, "picture": picture.id})


def _read_upload(upload: FileStorage) -> bytes:
    """The uploaded bytes, reading no more than one byte past the limit."""
    limit = current_app.config["MAX_PICTURE_BYTES"]
    data = upload.stream.read(limit + 1) if upload is not None else b""
    if not data:
        raise DomainError(_l("Kies een foto om toe te voegen."), field="upload")
    if len(data) > limit:
        raise DomainError(_l("Deze foto is te groot (hoogstens %(mb)d MB). Kies een kleinere foto.",
                             mb=limit // (1024 * 1024)), field="upload")
    return data


def _clean_image(data: bytes) -> tuple[bytes, str, tuple[int, int]]:
    """Decode ``data`` as a picture and encode its pixels afresh: (bytes, extension, size)."""
    not_a_picture = DomainError(
        _l("Dit bestand is geen foto die wij kunnen gebruiken. Kies een JPEG-, PNG- of WebP-foto."),
        field="upload")
    too_large = DomainError(_l("Deze foto heeft te veel beeldpunten. Kies een kleinere foto."), field="upload")
    try:
        # verify() checks the file's structure (and PNG checksums) without decoding it;
        # afterwards the image cannot be used, so it is opened a second time to decode.
        with Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS) as probe:
            _check_pixels(probe, too_large)
            probe.verify()
        with Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS) as image:
            _check_pixels(image, too_large)
            image.load()  # decodes everything: a truncated file fails here
            image = ImageOps.exif_transpose(image)
            has_alpha = image.mode in ("RGBA", "LA", "PA") or (
                image.mode == "P" and "transparency" in image.info)
            image = image.convert("RGBA" if has_alpha else "RGB")
            image.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
            # A brand-new image from the pixels alone: nothing of the original's metadata
            # (EXIF, GPS, XMP, comments, ICC profile) can travel along.
            clean = Image.frombytes(image.mode, image.size, image.tobytes())
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise too_large from None
    except DomainError:
        raise
    except Exception:
        # Pillow's parsers meet hostile input here; besides UnidentifiedImageError and
        # OSError (truncated data) they can raise struct.error, ValueError, SyntaxError,
        # IndexError and more. Every one of them means: not a picture we can use.
        raise not_a_picture from None
    buffer = io.BytesIO()
    if has_alpha:
        clean.save(buffer, "WEBP", quality=QUALITY)
        extension = "webp"
    else:
        clean.save(buffer, "JPEG", quality=QUALITY, optimize=True)
        extension = "jpg"
    return buffer.getvalue(), extension, clean.size


def _check_pixels(image: Image.Image, error: DomainError) -> None:
    """Refuse pictures whose header claims more pixels than Pillow's bomb limit, before
    decoding a single one (Pillow itself only warns below twice that limit)."""
    limit = Image.MAX_IMAGE_PIXELS
    if limit and image.width * image.height > limit:
        raise error


def _write_file(path: Path, data: bytes) -> None:
    """Write ``data`` under a temporary name and rename, so no half-written picture is
    ever served."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    try:
        temporary.write_bytes(data)
        os.replace(temporary, path)
    except OSError:
        temporary.unlink(missing_ok=True)
        raise


def _delete_files(paths: list[str]) -> None:
    for path in paths:
        Path(path).unlink(missing_ok=True)


@event.listens_for(Session, "after_commit")
def _keep_new_and_delete_removed_files(session: Session) -> None:
    session.info.pop(_NEW_FILES_KEY, None)
    _delete_files(session.info.pop(_DOOMED_FILES_KEY, []))


@event.listens_for(Session, "after_transaction_end")
def _delete_uncommitted_files(session: Session, transaction: SessionTransaction) -> None:
    """The outermost transaction ended: after a commit the lists are already empty, so
    whatever is left was not committed. New files go; removed pictures' files stay."""
    if transaction.parent is not None:
        return
    _delete_files(session.info.pop(_NEW_FILES_KEY, []))
    session.info.pop(_DOOMED_FILES_KEY, None)
