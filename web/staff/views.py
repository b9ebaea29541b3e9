"""The staff pages: lead list, lead detail and its actions, CSV export, erasure, insights.

Every view of a lead and every change is written to the audit log in the same transaction."""

from __future__ import annotations

import logging
import re
from datetime import datetime
from urllib.parse import quote
from zoneinfo import ZoneInfo

from flask import Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import selectinload

import settings
from web.leads import audit, export, insights, notify, workflow, working_time
from web.leads import countries as country_names
from web.leads.masking import mask_personal_data
from web.leads.models import HELP_TOPICS, AuditEntry, Lead, Note, OutboxMessage, StaffUser, utcnow
from web.leads.retention import erase_lead
from web.leads.search import fold
from web.staff import bp, charts, replies
from web.staff.auth import staff_required
from web.staff.database import dbs
from web.staff.forms import (
    AUDIT_LABELS,
    LANGUAGE_LABELS,
    STATUS_LABELS,
    AssignForm,
    BulkForm,
    CountryForm,
    EraseForm,
    ExportForm,
    InsightsForm,
    LeadFilterForm,
    LogoutForm,
    MergeForm,
    NoteForm,
    ReplyForm,
    StatusForm,
    TemplatePickForm,
)
from web.staff.i18n import ui_language
from web.staff.leads_query import Filters, countries, filtered, ordered, page_of

log = logging.getLogger(__name__)

STAFF_TZ = ZoneInfo("Europe/Stockholm")
MAX_EXPORT = 5000
REFERENCE_RE = re.compile(r"^ML-[0-9A-Z]{4}$")


@bp.app_template_filter("local")
def local_time(value: datetime | None) -> str:
    return value.astimezone(STAFF_TZ).strftime("%Y-%m-%d %H:%M") if value else ""


@bp.app_template_filter("mailto")
def mailto(address: str | None) -> str:
    """A mailto: link for an address; ?, &, # and % are escaped so nothing can add headers or recipients."""
    return "mailto:" + quote(address or "", safe="@+.-_!$'*=~")


@bp.app_template_filter("age")
def age_text(age) -> str:
    """How old a lead is, in minutes, hours or days."""
    minutes = max(int(age.total_seconds() // 60), 0)
    if minutes < 60:
        return _("%(n)s min", n=minutes)
    if minutes < 48 * 60:
        return _("%(n)s h", n=minutes // 60)
    return _("%(n)s days", n=minutes // (24 * 60))


@bp.app_template_filter("country")
def country_name(value: str | None) -> str:
    """A stored country code as its name (a country nobody recognised as typed)."""
    return country_names.name(value, ui_language())


@bp.app_template_filter("masked")
def masked(value: str | None) -> str:
    """A mover's message as stored since messages are masked (leads stored before were not)."""
    return mask_personal_data(value or "")


@bp.context_processor  # staff pages only: a LogoutForm makes a CSRF token, i.e. a session cookie
def staff_globals() -> dict:
    return {"logout_form": LogoutForm(), "STATUS_LABELS": STATUS_LABELS, "LANGUAGE_LABELS": LANGUAGE_LABELS, "AUDIT_LABELS": AUDIT_LABELS,
            "choice_label": choice_label, "response_clock": response_clock, "is_country": country_names.is_code}


def choice_label(prefix: str, value: str) -> str:
    """The wording movers saw for a choice (knowledge/phrases.yml, e.g. move_half_year) in the staff page's language, else the value."""
    from web.knowledge_access import kb

    try:
        return kb().phrase(f"{prefix}_{value}", ui_language())
    except Exception:
        return value


def _actor() -> dict:
    return {"actor": current_user.email, "staff_id": current_user.id}


def _lead_or_404(reference: str) -> Lead:
    if not REFERENCE_RE.match(reference):
        abort(404)
    lead = dbs().scalar(select(Lead).where(Lead.reference == reference))
    if lead is None:
        abort(404)
    return lead


@bp.get("/")
@login_required
def home():
    return redirect(url_for("staff.leads" if current_user.can_see_leads else "staff.insights_page"))


# ---------------------------------------------------------------- list and export

def _filters_from(form: LeadFilterForm) -> Filters:
    return Filters(q=form.q.data or None, status=form.status.data or None, country=form.country.data or None,
                   topic=form.topic.data or None, language=form.language.data or None, date_from=form.date_from.data,
                   date_to=form.date_to.data, sort=form.sort.data or "created", direction=form.direction.data or "desc",
                   view=form.view.data or None, staff_id=current_user.id,
                   overdue_since=working_time.overdue_since(utcnow(), current_app.config["RESPONSE_WORKING_DAYS"]))


def response_clock(lead: Lead) -> working_time.ResponseClock:
    """The lead's age, and when its first answer is due (templates)."""
    return working_time.clock(lead.created_at, lead.status, utcnow(), current_app.config["RESPONSE_WORKING_DAYS"])


def _filter_form() -> tuple[LeadFilterForm, Filters, bool]:
    form = LeadFilterForm(request.args, meta={"csrf": False})
    form.country.choices = [("", _("Any country"))] + sorted(((c, country_name(c)) for c in countries(dbs())), key=lambda c: fold(c[1]))
    form.topic.choices = [("", _("Any topic"))] + [(t, choice_label("help_topic", t)) for t in HELP_TOPICS]
    valid = form.validate()
    if not valid:
        # show the errors and ignore only the bad filters
        for name in form.errors:
            getattr(form, name).data = None
        for name in ("sort", "direction"):
            if getattr(form, name).data is None:
                getattr(form, name).data = getattr(form, name).default
    return form, _filters_from(form), valid


@bp.get("/leads")
@staff_required
def leads():
    form, filters, valid = _filter_form()
    try:
        page_number = int(request.args.get("page", "1"))
    except ValueError:
        page_number = 1
    page = page_of(dbs(), filters, page_number, current_app.config["STAFF_PAGE_SIZE"])
    args = {k: v for k, v in request.args.items() if k != "page" and v and len(v) <= 200}
    return render_template("staff/leads.html", title=_("Leads"), form=form, page=page, filters=filters, args=args,
                           export_form=ExportForm(), bulk_form=_bulk_form(), outbox=_outbox_state(), view_counts=_view_counts(filters),
                           working_days=current_app.config["RESPONSE_WORKING_DAYS"]), 200 if valid else 400


def _staff_choices() -> list[tuple[str, str]]:
    staff = dbs().scalars(select(StaffUser).where(StaffUser.active.is_(True), StaffUser.role == "staff").order_by(StaffUser.email)).all()
    return [("", _("Nobody"))] + [(str(s.id), s.email) for s in staff]


def _bulk_form() -> BulkForm:
    form = BulkForm(prefix="bulk")
    form.staff_id.choices = _staff_choices()
    return form


def _view_counts(filters: Filters) -> dict[str, int]:
    """How many leads each quick view has (the tabs above the list)."""
    counts = {}
    for view in ("mine", "unassigned", "overdue"):
        query = filtered(Filters(view=view, staff_id=filters.staff_id, overdue_since=filters.overdue_since))
        counts[view] = dbs().scalar(select(func.count()).select_from(query.subquery())) or 0
    return counts


def _outbox_state() -> dict:
    """What the list says about undelivered emails: how many, and whether anything will send them."""
    cfg = current_app.config
    mail = _mail()
    pending, last_error = notify.pending_summary(cfg["DATABASE_URL"])
    return {"pending": pending, "configured": mail.configured, "needs_notify_to": not mail.notify_to,
            "automatic": cfg["NOTIFY_INTERVAL_S"] > 0, "last_error": last_error}


@bp.post("/leads/export")
@staff_required
def export_csv():
    scope = request.form.get("scope", "selected")
    session = dbs()
    if scope == "filtered":
        form, filters, valid = _filter_form()
        if not valid:
            flash(_("The filters are not valid; fix them and try again."), "error")
            return redirect(url_for("staff.leads"))
        chosen = session.scalars(ordered(filtered(filters), filters).limit(MAX_EXPORT + 1)).all()
        if len(chosen) > MAX_EXPORT:
            flash(_("More than %(n)s leads match: narrow the filters.", n=MAX_EXPORT), "error")
            return redirect(url_for("staff.leads", **request.args))
    else:
        refs = [r for r in request.form.getlist("ref") if REFERENCE_RE.match(r)][:MAX_EXPORT]
        if not refs:
            flash(_("Select at least one lead to export."), "error")
            return redirect(url_for("staff.leads", **request.args))
        chosen = session.scalars(select(Lead).where(Lead.reference.in_(refs)).order_by(Lead.created_at.desc())).all()
        if not chosen:
            flash(_("None of the selected leads exists any more (erased?). Nothing was exported."), "error")
            return redirect(url_for("staff.leads", **request.args))
    leads_ = list(session.scalars(select(Lead).where(Lead.id.in_([lead.id for lead in chosen]))
                                  .options(selectinload(Lead.topics), selectinload(Lead.consents), selectinload(Lead.assigned_to),
                                           selectinload(Lead.notes).selectinload(Note.author))
                                  .order_by(Lead.created_at.desc())))
    for lead in leads_:
        audit.record(session, "export", lead, **_actor(), detail="csv")
    body = export.leads_csv(leads_, current_app.config["CSV_DELIMITER"], label=_csv_label)
    session.commit()
    name = f"leads-{utcnow().astimezone(STAFF_TZ):%Y%m%d-%H%M}.csv"
    return Response(body, mimetype="text/csv", headers={"Content-Disposition": f'attachment; filename="{name}"',
                                                        "Content-Type": "text/csv; charset=utf-8"})


def _csv_label(kind: str, value: str) -> str:
    """The words staff see for a code, for the CSV."""
    if kind == "status":
        return STATUS_LABELS.get(value, value)
    if kind == "language":
        return LANGUAGE_LABELS.get(value, value)
    if kind == "country":
        return country_name(value)
    if kind == "source":
        return {"chat": _("Chat"), "contact_form": _("Contact form")}.get(value, value)
    return choice_label(kind, value)


# ---------------------------------------------------------------- one lead

def _forms_for(lead: Lead) -> dict:
    assign = AssignForm(prefix="assign")
    assign.staff_id.choices = _staff_choices()
    return {"status_form": StatusForm(prefix="status"), "assign_form": assign, "note_form": NoteForm(prefix="note"),
            "erase_form": EraseForm(prefix="erase"), "reply_form": ReplyForm(prefix="reply"), "merge_form": MergeForm(prefix="merge"),
            "country_form": _country_form()}


def _country_form() -> CountryForm:
    form = CountryForm(prefix="country")
    form.country.choices = country_names.choices(ui_language())
    return form


def _template_picker(lead: Lead) -> tuple[TemplatePickForm, dict, list[str]]:
    """The template picker (its language defaults to the mover's preferred one), the templates, and any
    problem with the template files (shown to staff rather than failing the page)."""
    templates, problems = replies.load()
    picker = TemplatePickForm(request.args, meta={"csrf": False})
    titles = templates.get(ui_language()) or templates.get("en") or next(iter(templates.values()), {})
    picker.template.choices = [(t.id, t.title) for t in titles.values()]
    if picker.lang.data not in LANGUAGE_LABELS:
        picker.lang.data = lead.preferred_language if lead.preferred_language in LANGUAGE_LABELS else "en"
    return picker, templates, problems


def _render_lead(lead: Lead, forms: dict, status: int = 200):
    forms["status_form"].status.data = forms["status_form"].status.data or lead.status
    if not forms["country_form"].country.data:
        forms["country_form"].country.data = lead.country
    if not forms["assign_form"].staff_id.data:
        forms["assign_form"].staff_id.data = str(lead.assigned_to_id or "")
    picker, templates, problems = _template_picker(lead)
    reply = forms["reply_form"]
    chosen = templates.get(picker.lang.data, {}).get(picker.template.data or "")
    if chosen and request.method == "GET":  # start the reply from the template
        values = {"name": lead.name, "reference": lead.reference, "staff": current_user.email}
        reply.lang.data, reply.subject.data, reply.body.data = chosen.lang, replies.fill(chosen.subject, **values), replies.fill(chosen.body, **values)
    if not reply.lang.data:
        reply.lang.data = picker.lang.data
    log = dbs().scalars(select(AuditEntry).where(AuditEntry.lead_id == lead.id).order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
                        .limit(200)).all()
    return render_template("staff/lead.html", title=_("Lead %(reference)s", reference=lead.reference), lead=lead, audit_log=log, picker=picker,
                           template_problems=problems, mail_can_send=_mail().can_send, duplicates=workflow.duplicates_of(dbs(), lead),
                           **forms), status


def _mail() -> notify.MailConfig:
    return current_app.config["MAIL"] or notify.MailConfig.from_settings()


@bp.get("/leads/<reference>")
@staff_required
def lead_detail(reference: str):
    lead = _lead_or_404(reference)
    audit.record(dbs(), "view", lead, **_actor())
    dbs().commit()
    return _render_lead(lead, _forms_for(lead))


@bp.post("/leads/<reference>/status")
@staff_required
def change_status(reference: str):
    lead = _lead_or_404(reference)
    forms = _forms_for(lead)
    form = forms["status_form"]
    if not form.validate():
        return _render_lead(lead, forms, 400)
    new = form.status.data
    if workflow.set_status(dbs(), lead, new, **_actor()):
        dbs().commit()
        flash(_("Status changed to %(status)s.", status=STATUS_LABELS[new]), "success")
    return redirect(url_for("staff.lead_detail", reference=lead.reference))


@bp.post("/leads/<reference>/assign")
@staff_required
def assign(reference: str):
    lead = _lead_or_404(reference)
    forms = _forms_for(lead)
    form = forms["assign_form"]
    if not form.validate():
        return _render_lead(lead, forms, 400)
    assignee = dbs().get(StaffUser, int(form.staff_id.data)) if form.staff_id.data else None
    if workflow.assign(dbs(), lead, assignee, **_actor(), public_url=_mail().public_url):
        dbs().commit()
        flash(_("Assigned to %(who)s.", who=assignee.email) if assignee else _("Assigned to nobody."), "success")
    return redirect(url_for("staff.lead_detail", reference=lead.reference))


@bp.post("/leads/<reference>/country")
@staff_required
def set_country(reference: str):
    lead = _lead_or_404(reference)
    forms = _forms_for(lead)
    form = forms["country_form"]
    if not form.validate():
        return _render_lead(lead, forms, 400)
    if form.country.data != lead.country:
        audit.record(dbs(), "country", lead, **_actor(), detail=f"country set to {form.country.data}")
        lead.country = form.country.data
        dbs().commit()
        flash(_("Country set to %(country)s.", country=country_name(lead.country)), "success")
    return redirect(url_for("staff.lead_detail", reference=lead.reference))


@bp.post("/leads/<reference>/notes")
@staff_required
def add_note(reference: str):
    lead = _lead_or_404(reference)
    forms = _forms_for(lead)
    form = forms["note_form"]
    if not form.validate():
        return _render_lead(lead, forms, 400)
    lead.notes.append(Note(author_id=current_user.id, created_at=utcnow(), body=form.body.data))
    audit.record(dbs(), "note", lead, **_actor(), detail="note added")
    dbs().commit()
    flash(_("Note added."), "success")
    return redirect(url_for("staff.lead_detail", reference=lead.reference))


@bp.post("/leads/<reference>/reply")
@staff_required
def reply(reference: str):
    """Queue a reply to the mover in the outbox; the sender delivers it (with retries) and the first
    delivered reply makes a new lead "contacted" (web.leads.notify)."""
    lead = _lead_or_404(reference)
    forms = _forms_for(lead)
    form = forms["reply_form"]
    if not form.validate():
        return _render_lead(lead, forms, 400)
    now = utcnow()
    dbs().add(OutboxMessage(lead_id=lead.id, kind="reply", created_at=now, next_attempt_at=now, to_address=lead.email,
                            subject=form.subject.data, body=form.body.data, lang=form.lang.data, author_id=current_user.id))
    audit.record(dbs(), "reply", lead, **_actor(), detail=f"reply queued ({form.lang.data})")
    dbs().commit()
    if _mail().can_send:
        flash(_("Reply queued; it is sent within a minute. Its state is shown under Replies."), "success")
    else:
        flash(_("Reply saved, but no mail server is configured (MOVE_SMTP_HOST): it is sent once one is."), "error")
    return redirect(url_for("staff.lead_detail", reference=lead.reference) + "#replies-heading")


@bp.post("/leads/<reference>/erase")
@staff_required
def erase(reference: str):
    lead = _lead_or_404(reference)
    forms = _forms_for(lead)
    form = forms["erase_form"]
    if not form.validate() or (form.confirm.data or "").upper() != lead.reference:
        if not form.errors:
            form.confirm.errors = [f"Type {lead.reference} exactly to confirm."]
        return _render_lead(lead, forms, 400)
    try:  # the lead, and the conversation it came from in Rasa's tracker store
        erase_lead(dbs(), lead, **_actor(), tracker_db=current_app.config.get("TRACKER_DB") or settings.TRACKER_DB)
        dbs().commit()
    except SQLAlchemyError as exc:
        dbs().rollback()
        log.error("could not erase lead %s: %s", reference, exc)
        return render_template("staff/error.html", title=_("Not erased"),
                               message=_("Lead %(reference)s could not be erased because a database (the leads or the stored "
                                       "conversations) could not be reached. Nothing was lost; try again in a moment.", reference=reference)), 503
    flash(_("Lead %(reference)s was erased. Only an anonymous entry in the audit log remains.", reference=reference), "success")
    return redirect(url_for("staff.leads"))


# ---------------------------------------------------------------- insights

@bp.get("/insights")
@login_required
def insights_page():
    form = InsightsForm(request.args, meta={"csrf": False})
    valid = form.validate()
    weeks = int(form.weeks.data) if valid and form.weeks.data else 12
    figures = insights.compute(dbs(), weeks=weeks)
    figures.by_country = _relabelled(figures.by_country, country_name)
    figures.by_topic = _relabelled(figures.by_topic, lambda topic: choice_label("help_topic", topic))
    svg = {
        "country": charts.stacked_weeks(_("Leads per week by country"), figures.weeks, figures.by_country),
        "topic": charts.stacked_weeks(_("Leads per week by topic"), figures.weeks, figures.by_topic),
        "rates": charts.answer_rates(figures.answer_rate, {code: str(name) for code, name in LANGUAGE_LABELS.items()}),
        "unanswered": charts.unanswered(figures.unanswered),
    }
    return render_template("staff/insights.html", title=_("Insights"), form=form, figures=figures, svg=svg, weeks=weeks), 200 if valid else 400


def _relabelled(series: dict[str, list[int]], label) -> dict[str, list[int]]:
    """Weekly counts keyed by readable names instead of codes (counts of codes with one name added up)."""
    out: dict[str, list[int]] = {}
    for key, counts in series.items():
        name = label(key)
        out[name] = [a + b for a, b in zip(out[name], counts, strict=True)] if name in out else list(counts)
    return dict(sorted(out.items(), key=lambda item: fold(item[0])))
