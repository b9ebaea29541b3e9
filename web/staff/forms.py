"""The staff forms (WTForms via Flask-WTF: every POST form carries and checks a CSRF token)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, HiddenField, PasswordField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from web.leads.models import HELP_TOPICS, STATUSES
from web.leads.validation import clean_line, clean_text

STATUS_LABELS = {"new": _l("New"), "contacted": _l("Contacted"), "in_progress": _l("In progress"), "moved": _l("Moved"), "closed": _l("Closed")}
LANGUAGE_LABELS = {"en": _l("English"), "sv": _l("Swedish"), "pl": _l("Polish"), "lt": _l("Lithuanian"), "lv": _l("Latvian")}
AUDIT_LABELS = {"create": _l("created"), "view": _l("viewed"), "status": _l("status changed"), "assign": _l("assigned"),
                "note": _l("note added"), "export": _l("exported"), "erase": _l("erased"), "purge_transcript": _l("conversation deleted"),
                "retention_erase": _l("erased (retention)"), "reply": _l("reply written"), "reply_sent": _l("reply sent"),
                "merge": _l("merged"), "country": _l("country set")}
SORTS = {"created": _l("Received"), "reference": _l("Reference"), "name": _l("Name"), "country": _l("Country"), "status": _l("Status")}


def _strip_line(value):
    return clean_line(value) if isinstance(value, str) else value


def _strip_text(value):
    return clean_text(value) if isinstance(value, str) else value


class LoginForm(FlaskForm):
    email = StringField(_l("Email"), validators=[DataRequired(_l("Enter your email address.")), Length(max=254)], filters=[_strip_line])
    password = PasswordField(_l("Password"), validators=[DataRequired(_l("Enter your password.")), Length(max=256)])
    submit = SubmitField(_l("Sign in"))


class LogoutForm(FlaskForm):
    submit = SubmitField(_l("Sign out"))


class LeadFilterForm(FlaskForm):
    """The filters of the lead list (a GET form: it changes nothing, so it has no CSRF token)."""

    class Meta:
        csrf = False

    view = SelectField(_l("Show"), choices=[("", _l("All leads")), ("mine", _l("My leads")), ("unassigned", _l("Unassigned")),
                                        ("overdue", _l("Overdue")), ("duplicates", _l("Possible duplicates"))], validators=[Optional()])
    q = StringField(_l("Search name, email, phone or reference"), validators=[Optional(), Length(max=200)], filters=[_strip_line])
    status = SelectField(_l("Status"), choices=[("", _l("Any status"))] + list(STATUS_LABELS.items()), validators=[Optional()])
    country = SelectField(_l("Country"), choices=[("", _l("Any country"))], validators=[Optional()], validate_choice=False, filters=[_strip_line])
    topic = SelectField(_l("Topic"), choices=[("", _l("Any topic"))] + [(t, t) for t in HELP_TOPICS], validators=[Optional()])
    language = SelectField(_l("Preferred language"), choices=[("", _l("Any language"))] + list(LANGUAGE_LABELS.items()),
                           validators=[Optional()])
    date_from = DateField(_l("Received from"), validators=[Optional()])
    date_to = DateField(_l("Received to"), validators=[Optional()])
    sort = SelectField(_l("Sort by"), choices=list(SORTS.items()), default="created", validators=[Optional()])
    direction = SelectField(_l("Order"), choices=[("desc", _l("Newest / Z first")), ("asc", _l("Oldest / A first"))], default="desc",
                            validators=[Optional()])

    def validate_country(self, field) -> None:
        if field.data and len(field.data) > 100:
            raise ValidationError(_l("Country is too long."))

    def validate_date_to(self, field) -> None:
        if field.data and self.date_from.data and field.data < self.date_from.data:
            raise ValidationError(_l("'Received to' is before 'Received from'."))


class StatusForm(FlaskForm):
    status = SelectField(_l("New status"), choices=list(STATUS_LABELS.items()), validators=[DataRequired(_l("Choose a status."))])
    submit = SubmitField(_l("Change status"))


class AssignForm(FlaskForm):
    staff_id = SelectField(_l("Assign to"), choices=[], validate_choice=True)
    submit = SubmitField(_l("Assign"))


class NoteForm(FlaskForm):
    body = TextAreaField(_l("Note"), validators=[DataRequired(_l("Write the note first.")), Length(max=5000, message=_l("Keep a note under 5000 characters."))],
                         filters=[_strip_text])
    submit = SubmitField(_l("Add note"))


class ReplyForm(FlaskForm):
    """A reply to the mover, by email (started from a template in their language, web/staff/replies.py)."""

    lang = SelectField(_l("Language"), choices=list(LANGUAGE_LABELS.items()), validators=[DataRequired(_l("Choose a language."))])
    subject = StringField(_l("Subject"), validators=[DataRequired(_l("Write a subject.")), Length(max=200, message=_l("Keep the subject under 200 characters."))],
                          filters=[_strip_line])
    body = TextAreaField(_l("Message"), validators=[DataRequired(_l("Write the message first.")),
                                                Length(max=10000, message=_l("Keep the message under 10000 characters."))],
                         filters=[_strip_text])
    submit = SubmitField(_l("Send reply"))

    def validate_body(self, field) -> None:
        from web.staff.replies import unfilled

        if field.data and unfilled(field.data):
            raise ValidationError(_l("Replace the line in [square brackets] with your own text first."))


class TemplatePickForm(FlaskForm):
    """Which template to start a reply from, and in which language (a GET form: it changes nothing)."""

    class Meta:
        csrf = False

    template = SelectField(_l("Template"), choices=[], validate_choice=False)
    lang = SelectField(_l("Language"), choices=list(LANGUAGE_LABELS.items()), validate_choice=False)


class EraseForm(FlaskForm):
    confirm = StringField(_l("Type the reference to confirm"), validators=[DataRequired(_l("Type the reference to confirm.")), Length(max=20)],
                          filters=[_strip_line])
    submit = SubmitField(_l("Erase this lead"))


class BulkForm(FlaskForm):
    """What to do with the leads ticked in the list (assign, change status, close); its CSRF token
    is the list form's."""

    class Meta:
        csrf = False

    action = SelectField(choices=[("assign", "assign"), ("status", "status"), ("close", "close")])
    staff_id = SelectField(_l("Assign the selected to"), choices=[], validate_choice=True)
    status = SelectField(_l("Set the status of the selected to"), choices=list(STATUS_LABELS.items()))


class CountryForm(FlaskForm):
    """Set the lead's country from the ISO list (e.g. when what the mover typed was not recognised)."""

    country = SelectField(_l("Country"), choices=[], validators=[DataRequired(_l("Choose a country."))])
    submit = SubmitField(_l("Save country"))


class MergeForm(FlaskForm):
    other = StringField(validators=[DataRequired(_l("Choose the lead to merge.")), Length(max=20)], filters=[_strip_line])
    submit = SubmitField(_l("Merge into this lead"))


class ExportForm(FlaskForm):
    scope = HiddenField(default="selected")
    submit = SubmitField(_l("Export selected to CSV"))


class InsightsForm(FlaskForm):
    class Meta:
        csrf = False

    weeks = SelectField(_l("Period"), choices=[("4", _l("Last 4 weeks")), ("12", _l("Last 12 weeks")), ("26", _l("Last 26 weeks")),
                                           ("52", _l("Last 52 weeks"))],
                        default="12", validators=[Optional()])


assert set(STATUS_LABELS) == set(STATUSES)
