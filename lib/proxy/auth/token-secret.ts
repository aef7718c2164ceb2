import type { Logger } from "pino";
import { TokenFormatError, type TokenRecord } from "./token";
import { TokenTable } from "./token-file";

/** What the proxy needs of AWS Secrets Manager: the current text of a secret, and its version. */
export interface SecretReader {
  read(secretId: string): Promise<{ readonly text: string; readonly version: string }>;
}

export interface TokenSecretOptions {
  readonly logger: Logger;
  /** Reads the secret; the AWS SDK's Secrets Manager client by default. */
  readonly reader?: SecretReader;
  /** How often the secret is read again. @default 30000 */
  readonly intervalMs?: number;
}

/**
 * The token file kept in AWS Secrets Manager (GOMIRROR_AUTH_SECRET), for deployments where no
 * file can be mounted (ECS on Fargate). It is read at startup (a secret that cannot be read or
 * parsed stops the proxy) and again every interval; a new version replaces the table, and a
 * read or parse that fails later keeps the last good one and logs why, never the content.
 */
export class TokenSecret {
  private table: TokenTable | undefined;
  private version: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly reader: SecretReader;

  private constructor(
    readonly secretId: string,
    private readonly options: TokenSecretOptions,
  ) {
    this.reader = options.reader ?? awsSecretReader();
  }

  /**
   * Reads the secret and starts reading it again every interval.
   * @throws Error naming the secret and what is wrong with it
   */
  static async open(secretId: string, options: TokenSecretOptions): Promise<TokenSecret> {
    const secret = new TokenSecret(secretId, options);
    try {
      await secret.load();
    } catch (err) {
      throw new Error(`GOMIRROR_AUTH_SECRET=${JSON.stringify(secretId)}: ${reasonOf(err)}`);
    }
    secret.timer = setInterval(() => void secret.refresh(), options.intervalMs ?? 30_000);
    secret.timer.unref();
    return secret;
  }

  verify(token: string): TokenRecord | undefined {
    return this.table?.verify(token);
  }

  /** Reads the secret once more (the timer does this every interval). */
  async refresh(): Promise<void> {
    try {
      await this.load();
    } catch (err) {
      this.options.logger.error(
        {
          event: "auth_file_invalid",
          secret: this.secretId,
          reason: reasonOf(err),
          tokens: this.table?.size,
        },
        "the token secret could not be used; the last good token file stays in force",
      );
    }
  }

  close(): void {
    clearInterval(this.timer);
  }

  private async load(): Promise<void> {
    const { text, version } = await this.reader.read(this.secretId);
    if (version === this.version && this.table) return;
    const table = TokenTable.parse(text);
    this.table = table;
    this.version = version;
    this.options.logger.info(
      { event: "auth_file_loaded", secret: this.secretId, tokens: table.size },
      table.size === 0 ? "token secret loaded: it holds no tokens" : "token secret loaded",
    );
  }
}

/** The Secrets Manager client, loaded only when a token secret is configured. */
function awsSecretReader(): SecretReader {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded on first use
  const sdk = require("@aws-sdk/client-secrets-manager") as typeof import("@aws-sdk/client-secrets-manager");
  const client = new sdk.SecretsManagerClient({});
  return {
    read: async (secretId) => {
      const out = await client.send(new sdk.GetSecretValueCommand({ SecretId: secretId }));
      if (out.SecretString === undefined) throw new Error("the secret holds binary data, not a token file");
      return { text: out.SecretString, version: out.VersionId ?? "" };
    },
  };
}

/** What went wrong, for a log line: the format error, or the service's error name. */
function reasonOf(err: unknown): string {
  if (err instanceof TokenFormatError) return err.message;
  const e = err as { name?: string; message?: string };
  return e.name && e.name !== "Error" ? `cannot read it (${e.name})` : (e.message ?? String(err));
}
