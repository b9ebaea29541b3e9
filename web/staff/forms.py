"""The staff forms (WTForms via Flask-WTF: every POST form carries and checks a CSRF token)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import DateField, HiddenField, PasswordField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from web.leads.models import HELP_TOPICS, STATUSES
from web.leads.validation import clean_line, clean_text

STATUS_LABELS = {"new": "New", "contacted": "Contacted", "in_progress": "In progress", "moved": "Moved", "closed": "Closed"}
LANGUAGE_LABELS = {"en": "English", "sv": "Swedish", "pl": "Polish", "lt": "Lithuanian", "lv": "Latvian"}
SORTS = {"created": "Received", "reference": "Reference", "name": "Name", "country": "Country", "status": "Status"}


def _strip_line(value):
    return clean_line(value) if isinstance(value, str) else value


def _strip_text(value):
    return clean_text(value) if isinstance(value, str) else value


class LoginForm(FlaskForm):
    email = StringField("Email", validators=[DataRequired("Enter your email address."), Length(max=254)], filters=[_strip_line])
    password = PasswordField("Password", validators=[DataRequired("Enter your password."), Length(max=256)])
    submit = SubmitField("Sign in")


class LogoutForm(FlaskForm):
    submit = SubmitField("Sign out")


class LeadFilterForm(FlaskForm):
    """The filters of the lead list (a GET form: it changes nothing, so it has no CSRF token)."""

    class Meta:
        csrf = False

    view = SelectField("Show", choices=[("", "All leads"), ("mine", "My leads"), ("unassigned", "Unassigned"), ("overdue", "Overdue"),
                                        ("duplicates", "Possible duplicates")], validators=[Optional()])
    q = StringField("Search name, email or reference", validators=[Optional(), Length(max=200)], filters=[_strip_line])
    status = SelectField("Status", choices=[("", "Any status")] + list(STATUS_LABELS.items()), validators=[Optional()])
    country = SelectField("Country", choices=[("", "Any country")], validators=[Optional()], validate_choice=False, filters=[_strip_line])
    topic = SelectField("Topic", choices=[("", "Any topic")] + [(t, t.capitalize()) for t in HELP_TOPICS], validators=[Optional()])
    language = SelectField("Preferred language", choices=[("", "Any language")] + list(LANGUAGE_LABELS.items()),
                           validators=[Optional()])
    date_from = DateField("Received from", validators=[Optional()])
    date_to = DateField("Received to", validators=[Optional()])
    sort = SelectField("Sort by", choices=list(SORTS.items()), default="created", validators=[Optional()])
    direction = SelectField("Order", choices=[("desc", "Newest / Z first"), ("asc", "Oldest / A first")], default="desc",
                            validators=[Optional()])

    def validate_country(self, field) -> None:
        if field.data and len(field.data) > 100:
            raise ValidationError("Country is too long.")

    def validate_date_to(self, field) -> None:
        if field.data and self.date_from.data and field.data < self.date_from.data:
            raise ValidationError("'Received to' is before 'Received from'.")


class StatusForm(FlaskForm):
    status = SelectField("New status", choices=list(STATUS_LABELS.items()), validators=[DataRequired("Choose a status.")])
    submit = SubmitField("Change status")


class AssignForm(FlaskForm):
    staff_id = SelectField("Assign to", choices=[], validate_choice=True)
    submit = SubmitField("Assign")


class NoteForm(FlaskForm):
    body = TextAreaField("Note", validators=[DataRequired("Write the note first."), Length(max=5000, message="Keep a note under 5000 characters.")],
                         filters=[_strip_text])
    submit = SubmitField("Add note")


class ReplyForm(FlaskForm):
    """A reply to the mover, by email (started from a template in their language, web/staff/replies.py)."""

    lang = SelectField("Language", choices=list(LANGUAGE_LABELS.items()), validators=[DataRequired("Choose a language.")])
    subject = StringField("Subject", validators=[DataRequired("Write a subject."), Length(max=200, message="Keep the subject under 200 characters.")],
                          filters=[_strip_line])
    body = TextAreaField("Message", validators=[DataRequired("Write the message first."),
                                                Length(max=10000, message="Keep the message under 10000 characters.")],
                         filters=[_strip_text])
    submit = SubmitField("Send reply")

    def validate_body(self, field) -> None:
        from web.staff.replies import unfilled

        if field.data and unfilled(field.data):
            raise ValidationError("Replace the line in [square brackets] with your own text first.")


class TemplatePickForm(FlaskForm):
    """Which template to start a reply from, and in which language (a GET form: it changes nothing)."""

    class Meta:
        csrf = False

    template = SelectField("Template", choices=[], validate_choice=False)
    lang = SelectField("Language", choices=list(LANGUAGE_LABELS.items()), validate_choice=False)


class EraseForm(FlaskForm):
    confirm = StringField("Type the reference to confirm", validators=[DataRequired("Type the reference to confirm."), Length(max=20)],
                          filters=[_strip_line])
    submit = SubmitField("Erase this lead")


class BulkForm(FlaskForm):
    """What to do with the leads ticked in the list (assign, change status, close); its CSRF token
    is the list form's."""

    class Meta:
        csrf = False

    action = SelectField(choices=[("assign", "assign"), ("status", "status"), ("close", "close")])
    staff_id = SelectField("Assign the selected to", choices=[], validate_choice=True)
    status = SelectField("Set the status of the selected to", choices=list(STATUS_LABELS.items()))


class CountryForm(FlaskForm):
    """Set the lead's country from the ISO list (e.g. when what the mover typed was not recognised)."""

    country = SelectField("Country", choices=[], validators=[DataRequired("Choose a country.")])
    submit = SubmitField("Save country")


class MergeForm(FlaskForm):
    other = StringField(validators=[DataRequired("Choose the lead to merge."), Length(max=20)], filters=[_strip_line])
    submit = SubmitField("Merge into this lead")


class ExportForm(FlaskForm):
    scope = HiddenField(default="selected")
    submit = SubmitField("Export selected to CSV")


class InsightsForm(FlaskForm):
    class Meta:
        csrf = False

    weeks = SelectField("Period", choices=[("4", "Last 4 weeks"), ("12", "Last 12 weeks"), ("26", "Last 26 weeks"), ("52", "Last 52 weeks")],
                        default="12", validators=[Optional()])


assert set(STATUS_LABELS) == set(STATUSES)
