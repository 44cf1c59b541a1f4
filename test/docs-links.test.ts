// Every relative link in the README, CONTRIBUTING.md, docs/*.md and the packages' READMEs must point to a file
// that exists, and a `#anchor` into a markdown file to one of its headings, slugged as GitHub does. Links
// inside code blocks and code spans are not links; absolute URLs (https:, mailto:) are not checked here.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** The markdown files whose links are checked, relative to the repository root. */
function documents(): string[] {
  const inDir = (dir: string, pick: (name: string) => boolean) =>
    existsSync(join(ROOT, dir))
      ? readdirSync(join(ROOT, dir))
          .filter(pick)
          .map((name) => join(dir, name))
      : [];
  const packageReadmes = inDir('packages', () => true)
    .map((dir) => join(dir, 'README.md'))
    .filter((file) => existsSync(join(ROOT, file)));
  return ['README.md', 'CONTRIBUTING.md', ...inDir('docs', (n) => n.endsWith('.md')), ...packageReadmes];
}

interface Link {
  line: number;
  target: string;
}

/** The lines of a markdown text with fenced code blocks blanked out (kept as empty lines, so numbers hold). */
function proseLines(text: string): string[] {
  let fence: string | null = null;
  return text.split('\n').map((line) => {
    const marker = /^ {0,3}(`{3,}|~{3,})/.exec(line)?.[1];
    if (fence === null && marker) {
      fence = marker;
      return '';
    }
    if (fence !== null) {
      if (marker && marker[0] === fence[0] && marker.length >= fence.length && line.trim() === marker) {
        fence = null;
      }
      return '';
    }
    return line;
  });
}

/** A line without its code spans (`...`, ``...``), which hold no links. */
function withoutCodeSpans(line: string): string {
  return line.replace(/(`+)[\s\S]*?\1/g, '');
}

/** Inline links and images `[text](dest "title")`, reference definitions `[label]: dest`, and HTML href/src. */
function extractLinks(text: string): Link[] {
  const links: Link[] = [];
  proseLines(text).forEach((raw, i) => {
    const line = withoutCodeSpans(raw);
    const add = (target: string) => links.push({ line: i + 1, target: target.trim() });
    for (const m of line.matchAll(
      /\]\(\s*(<[^>]*>|[^\s()]*(?:\([^\s()]*\)[^\s()]*)*)(?:\s+["'(][^)]*)?\)/g,
    )) {
      add(m[1]!.replace(/^<|>$/g, ''));
    }
    const definition = /^ {0,3}\[[^\]]+\]:\s*(\S+)/.exec(line);
    if (definition) add(definition[1]!.replace(/^<|>$/g, ''));
    for (const m of line.matchAll(/\b(?:href|src)\s*=\s*"([^"]*)"/g)) add(m[1]!);
  });
  return links;
}

/**
 * GitHub's heading anchor: the heading's text as rendered (code spans keep their content, links their text,
 * emphasis markers go), lower-cased, every character that is not a letter, mark, digit, connector (`_`),
 * space or hyphen removed, then each space turned into a hyphen. Repeats get `-1`, `-2`, ...
 */
function slug(heading: string): string {
  const parts: string[] = [];
  let rest = heading.replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1');
  for (;;) {
    const code = /(`+)([\s\S]*?)\1/.exec(rest);
    const prose = code ? rest.slice(0, code.index) : rest;
    parts.push(
      prose
        .replace(/<[^>]+>/g, '') // HTML outside code spans renders as nothing
        .replace(/\*+/g, '')
        .replace(/(?<![\p{L}\p{N}])_+|_+(?![\p{L}\p{N}])/gu, ''),
    );
    if (!code) break;
    parts.push(code[2]!);
    rest = rest.slice(code.index + code[0].length);
  }
  return parts
    .join('')
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
    .replace(/ /g, '-');
}

/** The anchors a markdown text defines: its headings' slugs (with GitHub's numbering of repeats), and HTML ids. */
function anchors(text: string): Set<string> {
  const seen = new Map<string, number>();
  const found = new Set<string>();
  const lines = proseLines(text);
  lines.forEach((line, i) => {
    const atx = /^ {0,3}#{1,6}\s+(.*?)(?:\s+#+\s*)?$/.exec(line)?.[1];
    const setext =
      /^ {0,3}(=+|-+)\s*$/.test(line) && i > 0 && lines[i - 1]!.trim() !== '' ? lines[i - 1] : undefined;
    const heading = atx ?? (setext && !/^\s*[-*+]\s|^\s*\|/.test(setext) ? setext : undefined);
    if (heading !== undefined) {
      const base = slug(heading);
      const n = seen.get(base) ?? 0;
      seen.set(base, n + 1);
      found.add(n === 0 ? base : `${base}-${n}`);
    }
    for (const m of line.matchAll(/<a\s[^>]*\b(?:name|id)\s*=\s*"([^"]+)"/g)) found.add(m[1]!);
  });
  return found;
}

/** What is wrong with one link of `file` (relative to the root), or null when it resolves. */
function brokenReason(file: string, target: string, anchorCache: Map<string, Set<string>>): string | null {
  if (target === '' || /^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('//')) return null;
  const hash = target.indexOf('#');
  const pathPart = (hash === -1 ? target : target.slice(0, hash)).replace(/\?.*$/, '');
  const anchor = hash === -1 ? null : decodeURIComponent(target.slice(hash + 1));
  const decoded = decodeURIComponent(pathPart);
  const absolute =
    decoded === ''
      ? join(ROOT, file)
      : decoded.startsWith('/')
        ? join(ROOT, decoded)
        : resolve(ROOT, dirname(file), decoded);
  if (!absolute.startsWith(ROOT)) return 'points outside the repository';
  if (!existsSync(absolute)) return 'no such file';
  if (anchor === null || anchor === '' || !absolute.endsWith('.md') || statSync(absolute).isDirectory()) {
    return null;
  }
  let known = anchorCache.get(absolute);
  if (!known) {
    known = anchors(readFileSync(absolute, 'utf8'));
    anchorCache.set(absolute, known);
  }
  return known.has(anchor.toLowerCase()) ? null : `no heading #${anchor} in ${relative(ROOT, absolute)}`;
}

describe('GitHub heading slugs', () => {
  it.each([
    ['Quick start', 'quick-start'],
    ['`new Walbox(options)`', 'new-walboxoptions'],
    ['Status: how far behind is each target', 'status-how-far-behind-is-each-target'],
    ['`demo [--no-redis]`', 'demo---no-redis'],
    [
      "Mutations: did this user's change reach every store?",
      'mutations-did-this-users-change-reach-every-store',
    ],
    ['SQL: `<schema>.append(...)`', 'sql-schemaappend'],
    ['`walbox_drain_<target>` and **bold** _emphasis_', 'walbox_drain_target-and-bold-emphasis'],
    ['See [the docs](docs/api.md) now', 'see-the-docs-now'],
    ['Entries: `append` and `appendMany`', 'entries-append-and-appendmany'],
  ])('%s → #%s', (heading, expected) => {
    expect(slug(heading)).toBe(expected);
  });

  it('numbers repeated headings as GitHub does, and skips headings inside code blocks', () => {
    const text = [
      '# Setup',
      '## Options',
      '```sh',
      '# not a heading',
      '```',
      '## Options',
      'Title',
      '=====',
    ].join('\n');
    expect([...anchors(text)]).toEqual(['setup', 'options', 'options-1', 'title']);
  });
});

describe('link extraction', () => {
  it('finds inline links, images and definitions, not those in code', () => {
    const text = [
      'See [api](docs/api.md#errors) and ![shot](a/b.png "title").',
      'Not `[code](nope.md)` here.',
      '```md',
      '[fenced](nope.md)',
      '```',
      '[ref]: CONTRIBUTING.md',
      'A [link with (parens)](docs/x_(y).md).',
    ].join('\n');
    expect(extractLinks(text)).toEqual([
      { line: 1, target: 'docs/api.md#errors' },
      { line: 1, target: 'a/b.png' },
      { line: 6, target: 'CONTRIBUTING.md' },
      { line: 7, target: 'docs/x_(y).md' },
    ]);
  });
});

describe('relative links in the documentation', () => {
  const files = documents();

  it('covers the README, CONTRIBUTING.md, docs/ and the packages', () => {
    expect(files).toContain('README.md');
    expect(files).toContain('CONTRIBUTING.md');
    expect(files.some((f) => f.startsWith('docs/'))).toBe(true);
    expect(files.some((f) => f.startsWith('packages/'))).toBe(true);
  });

  it.each(files)('%s: every relative link resolves', (file) => {
    const cache = new Map<string, Set<string>>();
    const broken = extractLinks(readFileSync(join(ROOT, file), 'utf8')).flatMap(({ line, target }) => {
      const reason = brokenReason(file, target, cache);
      return reason ? [`${file}:${line}: ${target} (${reason})`] : [];
    });
    expect(broken).toEqual([]);
  });
});
