import { OPERATIONAL_PATHS } from "./proxy/http/routes";

/**
 * What the gomirror container image promises (image/Dockerfile), in one place: the Dockerfile's
 * test checks the image against it, and the AWS and Kubernetes constructs build from it instead
 * of repeating numbers and paths.
 */

/** The port the proxy listens on inside the image. */
export const CONTAINER_PORT = 8080;

/** The name every port mapping, Service, probe and ServiceMonitor uses for that port. */
export const PORT_NAME = "http";

/** The unprivileged user (and group) the image runs as. */
export const RUN_AS_USER = 65532;

/** The cache directory: the disk backend's home, a volume writable by RUN_AS_USER. */
export const CACHE_DIR = "/var/cache/gomirror";

/** Scratch space (zip spools, git work), a volume: the root filesystem is read-only. */
export const TMP_DIR = "/tmp";

/** Readiness: storage answers and the proxy takes requests. */
export const READINESS_PATH = OPERATIONAL_PATHS.readyz;

/** Liveness: the process is not wedged. */
export const LIVENESS_PATH = OPERATIONAL_PATHS.healthz;

/** Prometheus exposition. */
export const METRICS_PATH = OPERATIONAL_PATHS.metrics;

/** The variables the image sets (its Dockerfile `ENV`), over the proxy's own defaults. */
export const IMAGE_ENVIRONMENT: Readonly<Record<string, string>> = {
  GOMIRROR_LISTEN: `0.0.0.0:${CONTAINER_PORT}`,
  GOMIRROR_STORAGE: CACHE_DIR,
};
