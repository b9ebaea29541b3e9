"""Working the queue from the list and the lead page: bulk assign / status / close of the ticked leads,
and merging a duplicate into a lead."""

from __future__ import annotations

from flask import flash, redirect, request, url_for
from sqlalchemy import select

from web.leads import workflow
from web.leads.models import Lead, StaffUser
from web.staff import bp
from web.staff.auth import staff_required
from web.staff.database import dbs
from web.staff.forms import STATUS_LABELS
from web.staff.views import REFERENCE_RE, _actor, _bulk_form, _forms_for, _lead_or_404, _mail, _render_lead

MAX_BULK = 500


def _back_to_list():
    return redirect(url_for("staff.leads", **{k: v for k, v in request.args.items() if len(v) <= 200}))


@bp.post("/leads/bulk")
@staff_required
def bulk():
    form = _bulk_form()
    refs = [r for r in request.form.getlist("ref") if REFERENCE_RE.match(r)][:MAX_BULK]
    if not refs:
        flash("Select at least one lead first.", "error")
        return _back_to_list()
    # only the fields the chosen action uses are checked (the list form sends all of them)
    fields = {"assign": [form.action, form.staff_id], "status": [form.action, form.status], "close": [form.action]}
    errors = [e for f in fields.get(form.action.data, [form.action]) if not f.validate(form) for e in f.errors]
    if errors or form.action.data not in fields:
        flash("That action is not valid: " + " ".join(errors or ["Not a valid choice."]), "error")
        return _back_to_list()
    session = dbs()
    leads = session.scalars(select(Lead).where(Lead.reference.in_(refs)).order_by(Lead.created_at)).all()
    if not leads:
        flash("None of the selected leads exists any more (erased or merged?).", "error")
        return _back_to_list()
    action, changed = form.action.data, 0
    if action == "assign":
        assignee = session.get(StaffUser, int(form.staff_id.data)) if form.staff_id.data else None
        for lead in leads:
            changed += workflow.assign(session, lead, assignee, **_actor(), public_url=_mail().public_url)
        message = f"Assigned {changed} lead(s) to {assignee.email if assignee else 'nobody'}."
    else:
        status = "closed" if action == "close" else form.status.data
        for lead in leads:
            changed += workflow.set_status(session, lead, status, **_actor())
        message = f"{changed} lead(s) changed to {STATUS_LABELS[status]}."
    session.commit()
    unchanged = len(leads) - changed
    flash(message + (f" {unchanged} already were." if unchanged else ""), "success")
    return _back_to_list()


@bp.post("/leads/<reference>/merge")
@staff_required
def merge(reference: str):
    """Merge a duplicate (same email or phone) into this lead; only a listed duplicate can be merged."""
    lead = _lead_or_404(reference)
    forms = _forms_for(lead)
    form = forms["merge_form"]
    if not form.validate():
        return _render_lead(lead, forms, 400)
    other_ref = (form.other.data or "").upper()
    other = next((d for d in workflow.duplicates_of(dbs(), lead) if d.reference == other_ref), None)
    if other is None:
        form.other.errors = [f"{other_ref or 'That lead'} is not a duplicate of {lead.reference} (same email or phone)."]
        return _render_lead(lead, forms, 400)
    workflow.merge(dbs(), lead, other, **_actor())
    dbs().commit()
    flash(f"{other_ref} was merged into {lead.reference}; both consent records are kept.", "success")
    return redirect(url_for("staff.lead_detail", reference=lead.reference))
