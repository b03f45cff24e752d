/** The console's port unless `--port` says otherwise. */
export const DEFAULT_CONSOLE_PORT = 7420;
