"""Contact requests ("leads") from movers: storage, validation, notification, retention.

Plain SQLAlchemy (no Flask), so the action server can store a lead from the chat and the web app
from the fallback contact form, both through `web.leads.service.create_lead`.
"""
