"""The platform-neutral application: the command table, the handlers, the name resolver, import and export."""
