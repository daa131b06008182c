"""The Slack adapter: Bolt listeners, modals, App Home, the SlackMessenger (docs/slack.md)."""
