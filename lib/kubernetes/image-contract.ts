/**
 * What the Kubernetes construct adds to the image's contract (lib/image-contract.ts): how long a
 * pod drains, and where credentials are mounted. The construct, its tests and
 * docs/kubernetes.md read these names instead of repeating numbers.
 */

/**
 * Seconds a terminating pod keeps serving (GOMIRROR_SHUTDOWN_DELAY) with /readyz failing, while
 * endpoints and ingress controllers stop sending it new connections.
 */
export const SHUTDOWN_DELAY_SECONDS = 5;

/**
 * Seconds Kubernetes waits after SIGTERM: the shutdown delay, then GOMIRROR_SHUTDOWN_GRACE
 * (25 s by default) to drain in-flight downloads, and a few seconds to exit.
 */
export const TERMINATION_GRACE_SECONDS = SHUTDOWN_DELAY_SECONDS + 30;

/** Where secrets with git credentials are mounted. */
export const GIT_CREDENTIALS_DIR = "/etc/gomirror/git";

/** Where the client token file is mounted. */
export const AUTH_DIR = "/etc/gomirror/auth";

/** Where the proxy's own TLS certificate and key are mounted. */
export const TLS_DIR = "/etc/gomirror/tls";

/** The port of the separate `/metrics` listener (GOMIRROR_METRICS_LISTEN), with tokens or TLS. */
export const METRICS_PORT = 9090;

/** The name of that port on the container, the Service and the ServiceMonitor. */
export const METRICS_PORT_NAME = "metrics";
