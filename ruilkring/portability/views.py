"""Downloads: the coordinators' export of the whole ring, and a member's own data."""

import io
import tempfile

from flask import abort, g, render_template, request, send_file
from flask_login import current_user

from ruilkring import clock
from ruilkring.access import coordinator_required, ring_blueprint
from ruilkring.extensions import db
from ruilkring.portability import export

bp = ring_blueprint("portability", __name__)

ZIP = "application/zip"


@bp.route("/beheer/export", methods=["GET", "POST"])
@coordinator_required
def ring_export():
    """What the export holds; posting the form downloads it (and records it in the log)."""
    if request.method == "GET":
        return render_template("portability/ring_export.html", tables=export.RING_TABLES)
    target = tempfile.TemporaryFile()  # noqa: SIM115 - send_file closes it after the response
    export.ring_export_write(ring=g.ring, target=target, exported_by=current_user)
    db.session.commit()
    target.seek(0)
    return send_file(target, mimetype=ZIP, as_attachment=True,
                     download_name=f"export-{g.ring.slug}-{clock.today().isoformat()}.zip")


@bp.route("/mijn-gegevens")
def own_data():
    """The signed-in member's own data in this ring, as a ZIP (AVG right of access)."""
    if g.member is None:  # an admin who is no member of the ring has no data here
        abort(404)
    data = export.member_export_zip(member=g.member)
    return send_file(io.BytesIO(data), mimetype=ZIP, as_attachment=True,
                     download_name=f"mijn-gegevens-{g.ring.slug}-{clock.today().isoformat()}.zip")
