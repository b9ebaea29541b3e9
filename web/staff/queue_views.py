"""Working the queue from the list and the lead page: bulk assign / status / close of the ticked leads,
and merging a duplicate into a lead."""

from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_babel import gettext as _
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
        flash(_("Select at least one lead first."), "error")
        return _back_to_list()
    # only the fields the chosen action uses are checked (the list form sends all of them)
    fields = {"assign": [form.action, form.staff_id], "status": [form.action, form.status], "close": [form.action]}
    errors = [e for f in fields.get(form.action.data, [form.action]) if not f.validate(form) for e in f.errors]
    if errors or form.action.data not in fields:
        flash(_("That action is not valid: %(errors)s", errors=" ".join(errors or [_("Not a valid choice.")])), "error")
        return _back_to_list()
    session = dbs()
    leads = session.scalars(select(Lead).where(Lead.reference.in_(refs)).order_by(Lead.created_at)).all()
    if not leads:
        flash(_("None of the selected leads exists any more (erased or merged?)."), "error")
        return _back_to_list()
    action, changed = form.action.data, 0
    if action == "assign":
        assignee = session.get(StaffUser, int(form.staff_id.data)) if form.staff_id.data else None
        for lead in leads:
            changed += workflow.assign(session, lead, assignee, **_actor(), public_url=_mail().public_url)
        message = (_("Assigned %(n)s lead(s) to %(who)s.", n=changed, who=assignee.email) if assignee
                   else _("Assigned %(n)s lead(s) to nobody.", n=changed))
    else:
        status = "closed" if action == "close" else form.status.data
        for lead in leads:
            changed += workflow.set_status(session, lead, status, **_actor())
        message = _("%(n)s lead(s) changed to %(status)s.", n=changed, status=STATUS_LABELS[status])
    session.commit()
    unchanged = len(leads) - changed
    flash(message + (" " + _("%(n)s already were.", n=unchanged) if unchanged else ""), "success")
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
        form.other.errors = [_("%(other)s is not a duplicate of %(reference)s (same email or phone).",
                               other=other_ref or _("That lead"), reference=lead.reference)]
        return _render_lead(lead, forms, 400)
    workflow.merge(dbs(), lead, other, **_actor())
    dbs().commit()
    flash(_("%(other)s was merged into %(reference)s; both consent records are kept.", other=other_ref, reference=lead.reference), "success")
    return redirect(url_for("staff.lead_detail", reference=lead.reference))
