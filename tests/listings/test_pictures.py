"""Listing pictures: only real images get in, they are stored resized and without
metadata, files follow the transaction, and only those who may see the listing see them."""

import io
from pathlib import Path

import pytest
from PIL import Image
from werkzeug.datastructures import FileStorage

from ruilkring.errors import DomainError
from ruilkring.extensions import db
from ruilkring.listings import pictures, services
from ruilkring.listings.models import (
    HelpKind,
    ListingKind,
    ListingPicture,
    ListingPlace,
    ListingStatus,
)
from tests import factories

GPS_IFD = 0x8825
ORIENTATION = 0x0112


@pytest.fixture
def uploads(app, tmp_path, monkeypatch):
    """A fresh upload folder for each test."""
    folder = tmp_path / "uploads"
    monkeypatch.setitem(app.config, "UPLOAD_DIR", str(folder))
    return folder


@pytest.fixture
def listing(member, uploads):
    category = services.categories_create_defaults(ring=member.ring)[0]
    listing = services.listing_create(
        owner=member, kind=ListingKind.OFFER, title="Fietsen repareren", description="Ook bakfietsen",
        category_id=category.id, help_kind=HelpKind.PRACTICAL, place=ListingPlace.AT_MY_PLACE,
        created_by=member.user)
    db.session.commit()
    return listing


def image_bytes(size=(400, 300), fmt="JPEG", mode="RGB", color=(200, 40, 40), **save) -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, color).save(buffer, fmt, **save)
    return buffer.getvalue()


def jpeg_with_gps(size=(400, 300), orientation=None) -> bytes:
    """A JPEG as a phone makes it: camera, GPS position and maybe an orientation tag."""
    exif = Image.Exif()
    exif[0x010F] = "Telefoonmerk"  # Make
    exif[0x0110] = "Model X"  # Model
    if orientation is not None:
        exif[ORIENTATION] = orientation
    gps = exif.get_ifd(GPS_IFD)
    gps[1] = "N"
    gps[2] = (52.0, 5.0, 28.0)
    gps[3] = "E"
    gps[4] = (5.0, 7.0, 12.0)
    return image_bytes(size, exif=exif.tobytes())


def upload(data: bytes, filename="foto.jpg", content_type="image/jpeg") -> FileStorage:
    return FileStorage(stream=io.BytesIO(data), filename=filename, content_type=content_type)


def add(listing, data, **kwargs):
    return pictures.picture_add(listing=listing, upload=upload(data, **kwargs), added_by=listing.owner.user)


def stored(uploads: Path) -> list[Path]:
    return sorted(path for path in uploads.glob("*")) if uploads.exists() else []


# The service


def test_a_phone_jpeg_is_stored_upright_and_without_exif_or_gps(listing, uploads):
    original = jpeg_with_gps(size=(400, 300), orientation=6)  # 6: turn 90 degrees to stand upright
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(GPS_IFD)  # the test file has GPS

    picture = add(listing, original)
    db.session.commit()

    [path] = stored(uploads)
    assert path.name == picture.filename and path.suffix == ".jpg"
    assert (picture.width, picture.height) == (300, 400)  # turned upright
    with Image.open(path) as saved:
        assert saved.format == "JPEG"
        assert saved.size == (300, 400)
        assert len(saved.getexif()) == 0
        assert "exif" not in saved.info and "icc_profile" not in saved.info
    raw = path.read_bytes()
    assert b"Exif" not in raw and b"Telefoonmerk" not in raw


def test_a_transparent_png_is_kept_transparent_as_webp(listing, uploads):
    picture = add(listing, image_bytes((120, 80), fmt="PNG", mode="RGBA", color=(0, 0, 255, 0)),
                  filename="logo.png", content_type="image/png")
    db.session.commit()
    [path] = stored(uploads)
    assert path.suffix == ".webp"
    with Image.open(path) as saved:
        assert saved.format == "WEBP" and saved.size == (120, 80)
        assert saved.mode == "RGBA" and saved.getpixel((10, 10))[3] == 0
    assert (picture.width, picture.height) == (120, 80)


def test_a_plain_png_and_a_webp_are_accepted(listing, uploads):
    add(listing, image_bytes((64, 48), fmt="PNG"), filename="plaatje.png", content_type="image/png")
    add(listing, image_bytes((64, 48), fmt="WEBP"), filename="plaatje.webp", content_type="image/webp")
    db.session.commit()
    assert [Image.open(path).format for path in stored(uploads)] == ["JPEG", "JPEG"]
    assert len(listing.pictures) == 2


def test_a_long_picture_is_resized_to_1600_pixels(listing, uploads):
    picture = add(listing, image_bytes((5000, 100), fmt="PNG"), filename="lang.png")
    db.session.commit()
    assert (picture.width, picture.height) == (1600, 32)
    with Image.open(stored(uploads)[0]) as saved:
        assert saved.size == (1600, 32)


@pytest.mark.parametrize("data, filename", [
    (b"Dit is een tekstbestand en geen foto.\n" * 20, "foto.jpg"),
    (b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>',
     "tekening.svg"),
    (image_bytes((50, 50), fmt="GIF", mode="P", color=1), "bewegend.gif"),
    (b"", "leeg.jpg"),
])
def test_what_is_not_a_jpeg_png_or_webp_is_refused(listing, uploads, data, filename):
    with pytest.raises(DomainError) as error:
        add(listing, data, filename=filename)
    assert error.value.field == "upload"
    assert "JPEG-, PNG- of WebP-foto" in str(error.value) or "Kies een foto" in str(error.value)
    assert stored(uploads) == []
    assert listing.pictures == []


def test_a_truncated_jpeg_is_refused(listing, uploads):
    whole = image_bytes((800, 600), fmt="JPEG", color=(10, 120, 30))
    with pytest.raises(DomainError) as error:
        add(listing, whole[: len(whole) // 2])
    assert "geen foto die wij kunnen gebruiken" in str(error.value)
    assert stored(uploads) == []


def test_a_truncated_png_is_refused(listing, uploads):
    whole = image_bytes((300, 300), fmt="PNG")
    with pytest.raises(DomainError):
        add(listing, whole[:-30], filename="foto.png")
    assert stored(uploads) == []


def test_a_file_over_5_mb_is_refused_before_it_is_opened(app, listing, uploads):
    assert app.config["MAX_PICTURE_BYTES"] == 5 * 1024 * 1024
    too_big = image_bytes((10, 10)) + b"\0" * (5 * 1024 * 1024)
    with pytest.raises(DomainError) as error:
        add(listing, too_big)
    assert "te groot (hoogstens 5 MB)" in str(error.value)
    assert stored(uploads) == []


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")  # Pillow warns, we refuse
@pytest.mark.parametrize("size", [(200, 100), (300, 100)])
def test_a_decompression_bomb_is_refused(listing, uploads, monkeypatch, size):
    """Over Pillow's limit (where Pillow only warns) and over twice the limit (where it
    raises DecompressionBombError): both refused, nothing decoded or written."""
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 10_000)
    with pytest.raises(DomainError) as error:
        add(listing, image_bytes(size, fmt="PNG"), filename="bom.png")
    assert "te veel beeldpunten" in str(error.value)
    assert stored(uploads) == []


def test_a_fourth_picture_is_refused(listing, uploads):
    for _ in range(3):
        add(listing, image_bytes())
    db.session.commit()
    with pytest.raises(DomainError) as error:
        add(listing, image_bytes())
    assert "hoogstens 3 foto's" in str(error.value)
    assert len(stored(uploads)) == 3


def test_no_pictures_for_a_hidden_or_closed_listing(listing, uploads):
    listing.status = ListingStatus.CLOSED
    with pytest.raises(DomainError):
        add(listing, image_bytes())
    assert stored(uploads) == []


def test_a_rolled_back_picture_leaves_no_file(listing, uploads):
    add(listing, image_bytes())
    assert len(stored(uploads)) == 1  # written once checked, before the commit
    db.session.rollback()
    assert stored(uploads) == []
    assert db.session.query(ListingPicture).count() == 0


def test_a_picture_whose_row_cannot_be_saved_leaves_no_file(listing, uploads, monkeypatch):
    def failing_flush(*args, **kwargs):
        raise RuntimeError("database unreachable")

    monkeypatch.setattr(db.session, "flush", failing_flush)
    with pytest.raises(RuntimeError):
        add(listing, image_bytes())
    monkeypatch.undo()
    assert stored(uploads) == []


def test_removing_deletes_the_file_only_when_committed(listing, uploads):
    picture = add(listing, image_bytes())
    db.session.commit()
    [path] = stored(uploads)

    pictures.picture_remove(picture=db.session.get(ListingPicture, picture.id), removed_by=listing.owner.user)
    assert path.exists()
    db.session.rollback()
    assert path.exists() and db.session.get(ListingPicture, picture.id) is not None

    pictures.picture_remove(picture=db.session.get(ListingPicture, picture.id), removed_by=listing.owner.user)
    db.session.commit()
    assert not path.exists()
    assert db.session.get(ListingPicture, picture.id) is None


# The pages


def edit_url(listing):
    return f"/kring/{listing.owner.ring.slug}/aanbod-en-vraag/{listing.id}/bewerken"


def edit_data(listing, *files, **changes):
    data = {"title": listing.title, "description": listing.description, "category_id": listing.category_id,
            "help_kind": listing.help_kind.value, "place": listing.place.value,
            "valid_until": listing.valid_until.isoformat(), "upload": list(files)}
    data.update(changes)
    return data


def picture_url(listing, picture):
    return f"/kring/{listing.owner.ring.slug}/aanbod-en-vraag/{listing.id}/fotos/{picture.id}"


def test_the_owner_adds_pictures_on_the_edit_page_and_the_detail_page_shows_them(client, login, listing, uploads):
    login(listing.owner.user)
    page = client.get(edit_url(listing)).get_data(as_text=True)
    assert 'type="file"' in page and 'name="upload"' in page and 'multipart/form-data' in page

    response = client.post(edit_url(listing), content_type="multipart/form-data", data=edit_data(
        listing, (io.BytesIO(jpeg_with_gps()), "vakantie.jpg"),
        (io.BytesIO(image_bytes(fmt="PNG")), "werkbank.png")))
    assert response.status_code == 302
    first, second = db.session.get(type(listing), listing.id).pictures
    assert len(stored(uploads)) == 2

    detail = client.get(f"/kring/{listing.owner.ring.slug}/aanbod-en-vraag/{listing.id}").get_data(as_text=True)
    assert f'src="{picture_url(listing, first)}"' in detail
    assert 'alt="Fietsen repareren"' in detail
    assert 'alt="Fietsen repareren, foto 2"' in detail

    image = client.get(picture_url(listing, first))
    assert image.status_code == 200
    assert image.mimetype == "image/jpeg"
    assert "private" in image.headers["Cache-Control"]
    assert Image.open(io.BytesIO(image.data)).size == (first.width, first.height)


def test_a_bad_file_on_the_edit_page_saves_nothing(client, login, listing, uploads):
    login(listing.owner.user)
    response = client.post(edit_url(listing), content_type="multipart/form-data", data=edit_data(
        listing, (io.BytesIO(image_bytes()), "goed.jpg"), (io.BytesIO(b"geen foto"), "slecht.jpg"),
        title="Nieuwe titel"))
    assert response.status_code == 200
    assert "Dit bestand is geen foto die wij kunnen gebruiken" in response.get_data(as_text=True)
    db.session.expire_all()
    assert listing.title == "Fietsen repareren"
    assert listing.pictures == []
    assert stored(uploads) == []  # the good picture's file went with the rollback


def test_a_request_over_the_limit_gets_a_friendly_413_page(app, client, login, listing, uploads, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 2 * 1024 * 1024)
    login(listing.owner.user)
    response = client.post(edit_url(listing), content_type="multipart/form-data", data=edit_data(
        listing, (io.BytesIO(b"\0" * (3 * 1024 * 1024)), "groot.jpg")))
    assert response.status_code == 413
    page = response.get_data(as_text=True)
    assert "Te groot om te versturen" in page and "2 MB" in page
    assert stored(uploads) == []


def test_the_owner_removes_a_picture(client, login, listing, uploads):
    picture = add(listing, image_bytes())
    db.session.commit()
    login(listing.owner.user)
    page = client.get(edit_url(listing)).get_data(as_text=True)
    remove = f"{picture_url(listing, picture)}/verwijderen"
    assert f'action="{remove}"' in page
    response = client.post(remove)
    assert response.status_code == 302
    assert stored(uploads) == []
    assert client.get(picture_url(listing, picture)).status_code == 404


def test_who_may_see_and_remove_a_picture(client, login, listing, uploads, coordinator):
    picture = add(listing, image_bytes())
    db.session.commit()
    url = picture_url(listing, picture)
    neighbour = factories.MemberFactory(ring=listing.owner.ring)
    stranger = factories.MemberFactory()  # another ring

    assert client.get(url).status_code == 302  # anonymous: to the login page
    login(neighbour.user)
    assert client.get(url).status_code == 200
    assert client.post(f"{url}/verwijderen").status_code == 404

    listing.status = ListingStatus.PAUSED
    db.session.commit()
    assert client.get(url).status_code == 404  # a paused listing is not for others

    for user, status in ((listing.owner.user, 200), (coordinator.user, 200), (stranger.user, 404)):
        client.post("/uitloggen")
        login(user)
        assert client.get(url).status_code == status, user

    # A picture id of another listing under this listing's URL is not found either.
    login(listing.owner.user)
    other = services.listing_create(
        owner=listing.owner, kind=ListingKind.REQUEST, title="Ander", description="",
        category_id=listing.category_id, help_kind=HelpKind.PRACTICAL, place=ListingPlace.ONLINE,
        created_by=listing.owner.user)
    other_picture = add(other, image_bytes())
    db.session.commit()
    assert client.get(picture_url(listing, other_picture)).status_code == 404
    assert stored(uploads) and len(stored(uploads)) == 2
