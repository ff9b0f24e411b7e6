/**
 * How deeply a source file nests, measured on its text before anything parses it.
 *
 * Parsers recurse once per nesting level. Node's own compiler stops with "Maximum call stack
 * size exceeded" somewhere between 1,000 and 1,500 nested blocks or calls (3,000 nested `if`s
 * fail inside the task, as a run failure), and oxc's native parser, which `flow check` uses,
 * crashes the whole process (SIGSEGV) near 10,000. So the depth is judged first, by a scan that
 * cannot overflow: brackets (`(`, `[`, `{`, `${`), plus the constructs that nest without them,
 * counted per bracket level until a `;` or `,` at that level ends them: `?` (ternary chains),
 * `=>` (arrow chains), `if`/`for`/`while`/`with` (an unbraced body), and `else` (an `else if`
 * chain nests one level per `else`, braces or not). Strings, comments, template text and
 * regular expressions are skipped.
 */

/** Deeper than this is refused; ordinary code stays under 30, and Node needs room for its own frames. */
export const MAX_SOURCE_NESTING = 500;

export interface NestingReport {
  depth: number;
  /** UTF-16 offset where the depth first went past the limit, if it did. */
  offset?: number;
}

const KEYWORDS = new Set(['if', 'for', 'while', 'with', 'else']);
/** After these a `/` starts a regular expression rather than a division. */
const REGEX_AFTER = new Set(['(', ',', '=', ':', '[', '!', '&', '|', '?', '{', '}', ';', '+', '-', '*', '%', '<', '>', '~', '^', '']);
const REGEX_AFTER_WORDS = new Set(['return', 'typeof', 'instanceof', 'in', 'of', 'new', 'delete', 'void', 'throw', 'case', 'do', 'else', 'yield', 'await']);

export function measureNesting(text: string, limit = MAX_SOURCE_NESTING): NestingReport {
  // counters[d]: constructs open at bracket depth d; kinds: what each bracket level is.
  const counters: number[] = [0];
  const kinds: Array<'(' | '[' | '{' | '${'> = [];
  let sum = 0; // sum of counters
  let max = 0;
  let offset: number | undefined;
  let prev = ''; // the last significant token, for the regex/division decision
  let closedBlock = false; // the last token was a `}` ending a block at this level
  const note = (at: number) => {
    const depth = kinds.length + sum;
    if (depth > max) max = depth;
    if (depth > limit && offset === undefined) offset = at;
  };
  const bump = (at: number) => {
    counters[kinds.length]! += 1;
    sum += 1;
    note(at);
  };
  const resetLevel = () => {
    sum -= counters[kinds.length]!;
    counters[kinds.length] = 0;
  };

  let i = 0;
  const n = text.length;
  const skipTemplate = (): void => {
    // Inside template text: up to the closing backtick, or a `${` that opens a substitution.
    for (; i < n; i++) {
      const c = text[i];
      if (c === '\\') {
        i++;
        continue;
      }
      if (c === '`') {
        i++;
        prev = '`';
        return;
      }
      if (c === '$' && text[i + 1] === '{') {
        kinds.push('${');
        counters.push(0);
        note(i);
        i += 2;
        prev = '{';
        return;
      }
    }
  };
  while (i < n) {
    const c = text[i]!;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i++;
      continue;
    }
    if (c === '/' && text[i + 1] === '/') {
      const nl = text.indexOf('\n', i);
      i = nl === -1 ? n : nl;
      continue;
    }
    if (c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      i = end === -1 ? n : end + 2;
      continue;
    }
    if (c === '"' || c === "'") {
      for (i++; i < n && text[i] !== c && text[i] !== '\n'; i++) if (text[i] === '\\') i++;
      i++;
      prev = 'str';
      closedBlock = false;
      continue;
    }
    if (c === '`') {
      i++;
      skipTemplate();
      closedBlock = false;
      continue;
    }
    if (c === '/' && (REGEX_AFTER.has(prev) || REGEX_AFTER_WORDS.has(prev))) {
      let inClass = false;
      for (i++; i < n && text[i] !== '\n'; i++) {
        const r = text[i];
        if (r === '\\') {
          i++;
          continue;
        }
        if (r === '[') inClass = true;
        else if (r === ']') inClass = false;
        else if (r === '/' && !inClass) break;
      }
      i++;
      prev = 'regex';
      closedBlock = false;
      continue;
    }
    if (/[A-Za-z_$]/.test(c)) {
      let j = i + 1;
      while (j < n && /[\w$]/.test(text[j]!)) j++;
      const word = text.slice(i, j);
      if (closedBlock && word !== 'else') resetLevel();
      closedBlock = false;
      if (KEYWORDS.has(word)) bump(i);
      prev = word;
      i = j;
      continue;
    }
    if (closedBlock) {
      resetLevel();
      closedBlock = false;
    }
    if (c === '(' || c === '[' || c === '{') {
      kinds.push(c);
      counters.push(0);
      note(i);
    } else if (c === ')' || c === ']' || c === '}') {
      const kind = kinds.pop();
      if (kind === undefined) {
        i++;
        prev = c;
        continue;
      } // unbalanced: the parser reports it
      sum -= counters.pop() ?? 0;
      if (kind === '${') {
        i++;
        skipTemplate();
        closedBlock = false;
        continue;
      }
      if (c === '}') closedBlock = true;
    } else if (c === ';' || c === ',') {
      resetLevel();
    } else if (c === '?' && text[i + 1] !== '.' && text[i + 1] !== '?' && text[i - 1] !== '?') {
      bump(i);
    } else if (c === '=' && text[i + 1] === '>') {
      bump(i);
      i += 2;
      prev = '=>';
      continue;
    }
    prev = c;
    i++;
  }
  return { depth: max, ...(offset !== undefined ? { offset } : {}) };
}
