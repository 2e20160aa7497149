"""The application around the domain core: configuration, services, CLI and Slack."""
