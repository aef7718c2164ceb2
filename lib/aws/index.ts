// The AWS construct library's public surface. Internal helpers (prop checks, nag
// acknowledgements, CIDR splitting, locating the image directory) stay unexported, so that what
// users import is what this file lists; api/gomirror-aws.api.md records it for review.
export { GoMirror, DEFAULT_CACHE_TTL } from "./go-mirror";
export type { GoMirrorProps } from "./props";
export { GoMirrorMetrics } from "./metrics";
export type { GoMirrorMetricsSources } from "./metrics";
export { GoMirrorAlarms } from "./alarms";
export type { GoMirrorAlarmThresholds, GoMirrorAlarmsProps } from "./alarms";
export { GoMirrorDashboard } from "./dashboard";
export type { GoMirrorDashboardProps } from "./dashboard";
export { MirrorEdge, ORIGIN_VERIFY_HEADER } from "./edge";
export type { MirrorEdgeProps } from "./edge";
export { MirrorCdn, IMMUTABLE_TTL } from "./cdn";
export type { MirrorCdnProps } from "./cdn";
export { MirrorStorage, DEFAULT_STORAGE_PREFIX } from "./storage";
export type { MirrorStorageProps } from "./storage";
export { ProxyLogMetrics, LOG_EVENTS } from "./log-metrics";
export type { ProxyLogMetricsProps } from "./log-metrics";
export { IpAllowList, GoMirrorWafStack } from "./waf";
export type { IpAllowListProps, GoMirrorWafStackProps, WafScope } from "./waf";
export { CloudFrontOriginPrefixList, CLOUDFRONT_ORIGIN_FACING_PREFIX_LIST } from "./origin-prefix-list";
export type { ByteSize, DurationValue } from "../proxy/settings/kinds";
export type { ProxySettings } from "../proxy/settings/props";
export { MirrorSync } from "./sync";
export type { GoMirrorSyncOptions, MirrorSyncProps } from "./sync";
