// Options of a benchmark script: `--name=value` or `--name value`, and bare `--flag`.
// Unknown options stop the run with the list of known ones, so a typo never silently
// measures the default configuration.

export type Options = Record<string, string | true>;

export function parseOptions(argv: readonly string[], known: Record<string, string>): Options {
  const out: Options = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '--help' || a === '-h') {
      process.stdout.write(
        `Options:\n${Object.entries(known)
          .map(([k, help]) => `  --${k.padEnd(22)} ${help}`)
          .join('\n')}\n`,
      );
      process.exit(0);
    }
    const m = /^--([a-z0-9-]+)(?:=(.*))?$/.exec(a);
    if (!m?.[1] || !(m[1] in known)) {
      process.stderr.write(`unknown option ${a}; known: ${Object.keys(known).join(', ')}\n`);
      process.exit(2);
    }
    const next = argv[i + 1];
    if (m[2] !== undefined) out[m[1]] = m[2];
    else if (next !== undefined && !next.startsWith('--')) {
      out[m[1]] = next;
      i++;
    } else out[m[1]] = true;
  }
  return out;
}

export function numberList(v: string | true | undefined, fallback: number[]): number[] {
  if (v === undefined || v === true) return fallback;
  const list = v.split(',').map((x) => Number(x.trim()));
  if (list.some((x) => !Number.isFinite(x))) throw new Error(`not a list of numbers: ${v}`);
  return list;
}

export function numberOption(v: string | true | undefined, fallback: number): number {
  if (v === undefined || v === true) return fallback;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new Error(`not a number: ${v}`);
  return n;
}
