import { parseArgs } from "node:util";
import {
  addToken,
  checkScopes,
  listTokens,
  revokeToken,
  TokenStoreError,
} from "../lib/proxy/auth/token-store";
import { ALL_PATHS, checkName } from "../lib/proxy/auth/token";

/** `gomirror token ...`: creates, lists and revokes client tokens in a token file. */

export const TOKEN_USAGE = `gomirror token: manage the client tokens of a token file (GOMIRROR_AUTH_FILE)

Usage:
  gomirror token add --file F --name NAME [--scope PATTERNS]
      creates a token, appends its salted hash to F (created with mode 0600 if missing)
      and prints the token once on stdout: store it now, it cannot be shown again
  gomirror token list --file F
      prints the name, id and scopes of every token (never a token)
  gomirror token revoke --file F --name NAME
      removes the token; a running proxy refuses it within seconds

Flags:
  --file F          the token file [default: $GOMIRROR_AUTH_FILE]
  --name NAME       who holds the token (1-64 letters, digits, '.', '_', '@', '-'); shown in
                    logs and metrics
  --scope PATTERNS  private module paths the token may read, in GOPRIVATE syntax, comma
                    separated (may be repeated), e.g. corp.example/team-a/*; public modules
                    are readable with any token [default: every path]

Exit status: 0 done, 1 the file could not be read or changed, 2 wrong usage.
`;

export interface TokenCommandIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly env: NodeJS.ProcessEnv;
}

const OPTIONS = {
  file: { type: "string" },
  name: { type: "string" },
  scope: { type: "string", multiple: true },
  help: { type: "boolean", short: "h" },
} as const;

class UsageError extends Error {}

/** Runs `gomirror token <argv>`; resolves with the exit status. */
export async function runTokenCommand(argv: readonly string[], io: TokenCommandIo): Promise<number> {
  try {
    return await run(argv, io);
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr(`gomirror token: ${err.message}\nsee gomirror token --help\n`);
      return 2;
    }
    if (err instanceof TokenStoreError) {
      io.stderr(`gomirror token: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
}

async function run(argv: readonly string[], io: TokenCommandIo): Promise<number> {
  let values: { file?: string; name?: string; scope?: string[]; help?: boolean };
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: [...argv],
      options: OPTIONS,
      allowPositionals: true,
      strict: true,
    }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (values.help) {
    io.stdout(TOKEN_USAGE);
    return 0;
  }
  const [action, ...extra] = positionals;
  if (action === undefined) throw new UsageError("want a subcommand: add, list or revoke");
  if (!isAction(action)) {
    throw new UsageError(`unknown subcommand ${JSON.stringify(action)}; want add, list or revoke`);
  }
  if (extra.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(extra[0])}`);
  const file = values.file ?? (io.env.GOMIRROR_AUTH_FILE || undefined);
  if (file === undefined) throw new UsageError("want --file (or GOMIRROR_AUTH_FILE)");
  const name = (): string => {
    if (values.name === undefined) throw new UsageError(`${action} wants --name`);
    const problem = checkName(values.name);
    if (problem) throw new UsageError(problem);
    return values.name;
  };
  const refuse = (flag: string): void => {
    if (values[flag as keyof typeof values] !== undefined)
      throw new UsageError(`${action} takes no --${flag}`);
  };

  switch (action) {
    case "add": {
      const scopes = (values.scope ?? []).join(",");
      try {
        checkScopes(scopes);
      } catch (err) {
        throw new UsageError((err as Error).message);
      }
      const { token, record } = await addToken(file, name(), scopes);
      io.stdout(`${token}\n`);
      io.stderr(
        `added token ${JSON.stringify(record.name)} (id ${record.id}, scopes ${describeScopes(record.scopes)}) to ${file}\n` +
          "the token above is shown only this once: store it in your secret store or netrc now\n",
      );
      return 0;
    }
    case "list": {
      refuse("name");
      refuse("scope");
      const records = await listTokens(file);
      const rows = [
        ["NAME", "ID", "SCOPES"],
        ...records.map((r) => [r.name, r.id, describeScopes(r.scopes)]),
      ];
      const width = [0, 1].map((i) => Math.max(...rows.map((row) => row[i].length)));
      io.stdout(
        rows.map((row) => `${row[0].padEnd(width[0])}  ${row[1].padEnd(width[1])}  ${row[2]}\n`).join(""),
      );
      return 0;
    }
    case "revoke": {
      refuse("scope");
      const record = await revokeToken(file, name());
      io.stderr(`revoked token ${JSON.stringify(record.name)} (id ${record.id}) in ${file}\n`);
      return 0;
    }
  }
}

const ACTIONS = ["add", "list", "revoke"] as const;

function isAction(action: string): action is (typeof ACTIONS)[number] {
  return (ACTIONS as readonly string[]).includes(action);
}

function describeScopes(scopes: string): string {
  return scopes === ALL_PATHS ? "* (every path)" : scopes;
}
