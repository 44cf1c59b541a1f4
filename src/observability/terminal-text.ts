/**
 * C0 and C1 control characters (ESC, CSI \u009b, BEL, backspace, carriage return...), and the Unicode
 * direction overrides and line separators that can reorder or hide what a terminal shows.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/**
 * Text from the log (keys, payloads, actors) made safe to print on a terminal: every control character
 * becomes a visible escape (`\x1b`, `\u202e`), so that a key holding an escape sequence cannot move the
 * cursor, change colours, rewrite the screen or set the window title of the operator reading it.
 */
export function escapeControl(text: string): string {
  return text.replace(UNSAFE, (c) => {
    const code = c.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16)}`;
  });
}
