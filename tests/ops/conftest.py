"""The ops tests reuse the Slack scenario fixtures: a fake Slack API and the real app wired to it."""
from tests.bot.slack.conftest import fake_slack, slack, slack_api, slack_settings, slack_wiring  # noqa: F401
