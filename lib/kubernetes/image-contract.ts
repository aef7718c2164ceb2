/**
 * What the gomirror image promises (see image/Dockerfile and the proxy's operator interface).
 * The construct, its tests and docs/kubernetes.md read these names instead of repeating numbers.
 */

/** The port the proxy listens on inside the image (`GOMIRROR_LISTEN=0.0.0.0:8080`). */
export const CONTAINER_PORT = 8080;

/** The name every Service, probe and ServiceMonitor uses for that port. */
export const PORT_NAME = "http";

/** The unprivileged user (and group) the image runs as. */
export const RUN_AS_USER = 65532;

/** The cache directory: the disk backend's home, writable in the image. */
export const CACHE_DIR = "/var/cache/gomirror";

/** Scratch space for zips being assembled; the root filesystem is read-only. */
export const TMP_DIR = "/tmp";

/** Readiness: the storage answers and the proxy accepts requests. */
export const READINESS_PATH = "/readyz";

/** Liveness: the process is not wedged. */
export const LIVENESS_PATH = "/healthz";

/** Prometheus exposition. */
export const METRICS_PATH = "/metrics";

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
