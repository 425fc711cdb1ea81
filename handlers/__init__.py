"""The conversation layer: dispatch, ACL, dialogs and Thai messages. No Flask, no network."""
