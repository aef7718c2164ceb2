// The proxy's public surface: run it, configure it, extend it with sources and storages.
export { startProxy, buildSource } from "./server";
export type { ProxyDeps, RunningProxy } from "./server";
export { loadConfig, ConfigError, SETTINGS, settingsHelp } from "./config";
export type { ProxyConfig, ConfigSources } from "./config";
export { ProxyError } from "./errors";
export type { ErrorKind } from "./errors";
export type { ModuleSource, ModuleInfo, ModuleOrigin, Download } from "./sources/source";
export { UpstreamProxySource } from "./sources/upstream";
export type { UpstreamOptions } from "./sources/upstream";
export { ProxyChainSource, PrivateRoutingSource, offSource, noDirectSource } from "./sources/chain";
export type { ChainEntry } from "./sources/chain";
export { parseProxyList, formatProxyList } from "./sources/proxy-list";
export type { ProxyListEntry } from "./sources/proxy-list";
export { CachedSource } from "./cache/cached-source";
export type { CachedSourceOptions } from "./cache/cached-source";
export { PREFETCH_MODES } from "./cache/prefetch";
export type { PrefetchMode } from "./cache/prefetch";
export type { Storage, StoredObject, ObjectInfo, PutOptions, PutResult } from "./storage/storage";
export { DiskStorage } from "./storage/disk";
export { S3Storage } from "./storage/s3";
export type { S3StorageOptions } from "./storage/s3";
export { parseS3Url, formatS3Url, isBucketName } from "./storage/s3-url";
export type { S3Location } from "./storage/s3-url";
export { openStorage } from "./storage/open";
export { ProxyMetrics } from "./metrics";
export { createLogger } from "./logger";
export { GitSource } from "./git/source";
export type { GitSourceOptions, GitSourceConfig } from "./git/source";
export { SumdbClient } from "./sumdb/client";
export { VerifyingSource } from "./sumdb/verify";
export { createSumdbHandler } from "./sumdb/handler";
export type { SumdbHandler, SumdbAnswer, SumdbProxyOptions } from "./sumdb/handler";
export { parseGosumdb } from "./sumdb/config";
export { runVerify, formatVerifySummary } from "./sumdb/verify-command";
export type { VerifySummary, VerifyCommandOptions } from "./sumdb/verify-command";
// Client tokens and CIDR blocks: the constructs build edge verification and validate settings with these.
export {
  ALL_PATHS,
  MAX_RECORD_BYTES,
  TOKEN_PREFIX,
  TokenFormatError,
  checkName,
  containsToken,
  formatRecord,
  generateToken,
  hashToken,
  normalizeScopes,
  parseRecord,
  tokenId,
  verifyToken,
} from "./auth/token";
export type { RandomSource, TokenRecord } from "./auth/token";
export { TokenTable } from "./auth/token-file";
export { TokenStoreError, addToken, checkScopes, listTokens, revokeToken } from "./auth/token-store";
export { AccessPolicy, sumdbLookupPath } from "./auth/access";
export type { Anonymous, Decision } from "./auth/access";
export { matchPrefixPatterns } from "./module/glob";
export {
  CidrError,
  CidrSet,
  cidrContains,
  cidrCovers,
  cidrsByFamily,
  formatIp,
  parseCidr,
  parseCidrList,
  parseIp,
} from "./net/cidr";
export type { Cidr, IpAddress, IpFamily } from "./net/cidr";
