/**
 * What berth says about its own command line, all made from the one command table
 * (commands.ts), so that none of it can drift from what the parser accepts:
 *   - `--help`, `berth help [VERB]`: the verb's own flags first, then the global ones, wrapped
 *     at word boundaries (yargs' bundled wrapper cut words: "mana\nge");
 *   - the man pages, berth.8 and berth-VERB.8 (scripts/gen-docs.mjs writes them to man/ at build);
 *   - bash and zsh completion (`berth completion bash`, `berth completion zsh`).
 */
import type { Options } from "yargs";
import { commands, globalOptions, positionals, type CommandDef } from "./commands";

const INTRO = "berth is an OCI runtime: it runs containers from OCI bundles, with runc's command line.";

type Opts = Record<string, Options>;

/** Split `text` into lines of at most `width` characters, breaking only between words (a word longer than a line stays whole). Continuation lines may be indented by the caller. */
export function wrapWords(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line === "") line = word;
    else if (line.length + 1 + word.length <= width) line += " " + word;
    else {
      lines.push(line);
      line = word;
    }
  }
  if (line !== "" || lines.length === 0) lines.push(line);
  return lines;
}

const aliases = (o: Options): string[] => [o.alias ?? []].flat().filter((a) => a !== "");

/** "-b, --bundle VALUE": how the flag is written. */
function flagSpelling(name: string, o: Options): string {
  const short = aliases(o).filter((a) => a.length === 1);
  const value = o.type === "boolean" ? "" : o.type === "number" ? " N" : " VALUE";
  return [...short.map((a) => `-${a}`), `--${name}`].join(", ") + value;
}

/** The description with its choices and default, as one sentence run. */
function flagText(o: Options): string {
  let text = String(o.describe ?? "");
  if (o.choices) text += ` (one of: ${[o.choices].flat().join(", ")})`;
  if (o.default !== undefined && o.default !== false) text += ` [default: ${String(o.default)}]`;
  if (o.demandOption) text += " [required]";
  return text;
}

/** Options as a two-column list: the spelling, then the text wrapped beside it. */
function optionList(opts: Opts, width: number): string[] {
  const entries = Object.entries(opts).map(([name, o]) => [flagSpelling(name, o), flagText(o)] as const);
  if (entries.length === 0) return ["  (none)"];
  const col = Math.min(28, Math.max(...entries.map(([f]) => f.length)) + 4);
  const out: string[] = [];
  for (const [flag, text] of entries) {
    const lines = wrapWords(text, Math.max(20, width - col));
    if (flag.length + 4 > col) {
      out.push(`  ${flag}`);
      for (const l of lines) out.push(" ".repeat(col) + l);
    } else {
      out.push(`  ${flag.padEnd(col - 2)}${lines[0]}`);
      for (const l of lines.slice(1)) out.push(" ".repeat(col) + l);
    }
  }
  return out;
}

const globals = globalOptions as unknown as Opts;
const helpFlag: Opts = { help: { type: "boolean", alias: "h", describe: "show this help" } };

/** `berth --help`, `berth help`. */
export function mainHelp(width = 80): string {
  const col = Math.max(...commands.map((c) => c.name.length)) + 4;
  const lines = ["Usage: berth [global options] COMMAND [command options] [arguments]", "", ...wrapWords(INTRO, width), "", "Commands:"];
  for (const c of commands) {
    const text = wrapWords(c.describe + (c.built ? "" : " (not built yet)"), Math.max(20, width - col - 2));
    lines.push(`  ${c.name.padEnd(col)}${text[0]}`, ...text.slice(1).map((l) => " ".repeat(col + 2) + l));
  }
  lines.push(
    "",
    "Global options:",
    ...optionList({ ...globals, ...helpFlag }, width),
    "",
    ...wrapWords(
      "Run `berth help COMMAND` or `berth COMMAND --help` for a command's own options, and `man berth-COMMAND` for its manual page.",
      width,
    ),
  );
  return lines.join("\n") + "\n";
}

/** `berth VERB --help`, `berth help VERB`: the verb's own flags first, then the global ones. */
export function verbHelp(def: CommandDef, width = 80): string {
  const usage = wrapWords(`Usage: berth [global options] ${def.usage}`, width).map((l, i) => (i === 0 ? l : `       ${l}`));
  const lines = [
    ...usage,
    "",
    ...wrapWords(def.describe + (def.built ? "" : " (not built in this version of berth yet)"), width),
    "",
    "Options:",
    ...optionList(def.options, width),
    "",
    "Global options:",
    ...optionList({ ...globals, ...helpFlag }, width),
  ];
  return lines.join("\n") + "\n";
}

// ---- man pages ----

/** troff-safe text: backslashes doubled, a leading dot or quote escaped, hyphens as \-. */
function roff(text: string): string {
  return text
    .replace(/\\/g, "\\e")
    .replace(/-/g, "\\-")
    .replace(/^([.'])/gm, "\\&$1");
}

function manOptions(opts: Opts): string[] {
  const out: string[] = [];
  for (const [name, o] of Object.entries(opts)) {
    out.push(".TP", `\\fB${roff(flagSpelling(name, o))}\\fR`, roff(flagText(o)));
  }
  return out;
}

function manHeader(title: string, name: string, summary: string): string[] {
  return [
    `.\\" Generated from berth's command table (src/cli/commands.ts) by src/cli/docs.ts: do not edit.`,
    `.TH ${title} 8 "" "berth" "System Manager's Manual"`,
    ".nh",
    ".ad l",
    ".SH NAME",
    `${roff(name)} \\- ${roff(summary)}`,
  ];
}

/** berth.8 and berth-VERB.8, by file name. */
export function manPages(): Record<string, string> {
  const pages: Record<string, string> = {};
  const main = [
    ...manHeader("BERTH", "berth", "an OCI container runtime"),
    ".SH SYNOPSIS",
    "\\fBberth\\fR [\\fIglobal options\\fR] \\fICOMMAND\\fR [\\fIcommand options\\fR] [\\fIarguments\\fR]",
    ".SH DESCRIPTION",
    roff(INTRO),
    ".SH COMMANDS",
  ];
  for (const c of commands)
    main.push(
      ".TP",
      `\\fB${roff(c.name)}\\fR`,
      roff(c.describe + (c.built ? "" : " (not built yet)") + ". See ") + `\\fBberth\\-${roff(c.name)}\\fR(8).`,
    );
  main.push(
    ".SH GLOBAL OPTIONS",
    ...manOptions(globals),
    ".SH EXIT STATUS",
    "0 on success, 1 on any error; \\fBexec\\fR ends with 255 when it fails, as runc's does; a foreground \\fBrun\\fR or \\fBexec\\fR exits with the process's status.",
    ".SH SEE ALSO",
    commands.map((c) => `\\fBberth\\-${roff(c.name)}\\fR(8)`).join(", ") + ", \\fBrunc\\fR(8)",
  );
  pages["berth.8"] = main.join("\n") + "\n";
  for (const c of commands) {
    const page = [
      ...manHeader(`BERTH-${c.name.toUpperCase()}`, `berth-${c.name}`, c.describe),
      ".SH SYNOPSIS",
      `\\fBberth\\fR [\\fIglobal options\\fR] ${roff(c.usage)}`,
      ".SH DESCRIPTION",
      roff(c.describe + (c.built ? "." : ". This command is registered with runc's flags and not built in this version of berth yet.")),
      ".SH OPTIONS",
      ...(Object.keys(c.options).length ? manOptions(c.options) : ["None besides the global options."]),
      ".SH GLOBAL OPTIONS",
      "See \\fBberth\\fR(8).",
      ".SH SEE ALSO",
      "\\fBberth\\fR(8)",
    ];
    pages[`berth-${c.name}.8`] = page.join("\n") + "\n";
  }
  return pages;
}

// ---- completion ----

const flagWords = (opts: Opts): string[] =>
  Object.entries(opts).flatMap(([name, o]) => [`--${name}`, ...aliases(o).map((a) => (a.length === 1 ? `-${a}` : `--${a}`))]);

/** Flags that take a value, so that the word after them is not completed as a verb or flag. */
const valueFlags = (opts: Opts): string[] =>
  Object.entries(opts)
    .filter(([, o]) => o.type !== "boolean")
    .flatMap(([name, o]) => [
      `--${name}`,
      ...aliases(o)
        .filter((a) => a.length === 1)
        .map((a) => `-${a}`),
    ]);

/** A bash completion script: verbs, each verb's flags and the global ones, container ids from `berth list -q`. */
export function bashCompletion(): string {
  const verbs = commands.map((c) => c.name);
  const cases = commands
    .filter((c) => c.name !== "help" && c.name !== "completion")
    .map(
      (c) =>
        `    ${c.name}) flags="${flagWords(c.options).join(" ")}"; ids=${positionals[c.name]?.startsWith("<container-id>") ? 1 : 0} ;;`,
    );
  const globalValue = valueFlags(globals).join("|");
  const verbValue = [...new Set(commands.flatMap((c) => valueFlags(c.options)))].join("|");
  return `# bash completion for berth, generated from its command table (berth completion bash).
# Install: berth completion bash > /usr/share/bash-completion/completions/berth
_berth() {
  local cur prev verb="" i w root=()
  cur="\${COMP_WORDS[COMP_CWORD]}"
  prev="\${COMP_WORDS[COMP_CWORD-1]}"
  for ((i = 1; i < COMP_CWORD; i++)); do
    w="\${COMP_WORDS[i]}"
    case "$w" in
      --root) root=(--root "\${COMP_WORDS[i+1]}"); ((i++)) ;;
      ${globalValue}) ((i++)) ;;
      -*) ;;
      *) verb="$w"; break ;;
    esac
  done
  case "$prev" in
    ${globalValue}|${verbValue}) COMPREPLY=($(compgen -f -- "$cur")); return ;;
  esac
  local globals="${flagWords({ ...globals, ...helpFlag }).join(" ")}"
  if [[ -z "$verb" ]]; then
    if [[ "$cur" == -* ]]; then COMPREPLY=($(compgen -W "$globals" -- "$cur"));
    else COMPREPLY=($(compgen -W "${verbs.join(" ")}" -- "$cur")); fi
    return
  fi
  local flags="" ids=0
  case "$verb" in
${cases.join("\n")}
    help) COMPREPLY=($(compgen -W "${commands.map((c) => c.name).join(" ")}" -- "$cur")); return ;;
    completion) COMPREPLY=($(compgen -W "bash zsh" -- "$cur")); return ;;
  esac
  if [[ "$cur" == -* ]]; then COMPREPLY=($(compgen -W "$flags $globals" -- "$cur")); return; fi
  if ((ids)); then COMPREPLY=($(compgen -W "$(berth "\${root[@]}" list -q 2>/dev/null)" -- "$cur")); fi
}
complete -F _berth berth
`;
}

/** Text inside a zsh `_arguments` description, between single quotes: no `]`, `:` or `'` left to end it early. */
const zshText = (text: string): string =>
  text
    .replace(/\s+/g, " ")
    .replace(/([[\]:\\])/g, "\\$1")
    .replace(/'/g, "'\\''");

/** One `_arguments` spec per spelling of each flag; a flag that takes a value completes files. */
const zshFlagSpecs = (opts: Opts): string[] =>
  Object.entries(opts).flatMap(([name, o]) => {
    const text = zshText(flagText(o));
    const value = o.type === "boolean" ? "" : o.choices ? `:value:(${[o.choices].flat().join(" ")})` : ":value:_files";
    return [`--${name}`, ...aliases(o).map((a) => (a.length === 1 ? `-${a}` : `--${a}`))].map((f) => `'${f}[${text}]${value}'`);
  });

/** A zsh completion script from the same table: verbs with their descriptions, each verb's flags and the global ones, container ids from `berth list -q`. */
export function zshCompletion(): string {
  const verbs = commands.map((c) => `    '${c.name}:${c.describe.replace(/'/g, "'\\''")}'`);
  const globalSpecs = zshFlagSpecs({ ...globals, ...helpFlag });
  const cases = commands
    .filter((c) => c.name !== "help" && c.name !== "completion")
    .map((c) => {
      const ids = positionals[c.name]?.startsWith("<container-id>") ? ` '1:container id:_berth_ids'` : "";
      return `    ${c.name}) _arguments -s ${[...zshFlagSpecs(c.options), ...globalSpecs].join(" ")}${ids} ;;`;
    });
  return `#compdef berth
# zsh completion for berth, generated from its command table (berth completion zsh).
# Install: berth completion zsh > /usr/local/share/zsh/site-functions/_berth
_berth_ids() {
  local -a ids root
  [[ -n \$berth_root ]] && root=(--root "\$berth_root")
  ids=(\${(f)"$(_call_program container-ids berth "\${root[@]}" list -q 2>/dev/null)"})
  _describe -t container-ids 'container id' ids
}

_berth() {
  local -a verbs
  verbs=(
${verbs.join("\n")}
  )
  local curcontext="$curcontext" state line
  typeset -A opt_args
  _arguments -s -C ${globalSpecs.join(" ")} '1:command:->verb' '*::argument:->argument' && return
  local berth_root=\${opt_args[--root]}
  case $state in
    verb) _describe -t commands 'berth command' verbs ;;
    argument)
      curcontext="\${curcontext%:*:*}:berth-\${words[1]}:"
      case \${words[1]} in
${cases.map((c) => "  " + c).join("\n")}
        help) _describe -t commands 'berth command' verbs ;;
        completion) _values shell bash zsh ;;
      esac ;;
  esac
}

# Autoloaded from $fpath (the file's body is _berth's first call): complete; sourced: register.
if [[ \$funcstack[1] == _berth ]]; then
  _berth "$@"
else
  compdef _berth berth
fi
`;
}
