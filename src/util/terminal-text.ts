/**
 * Text for a terminal that may carry words chosen by a remote side (an archive member's name, a
 * remote command's stderr in an error message): escape sequences there could clear the screen,
 * retitle the window or fake output. Control characters other than newline and tab become '?'.
 */
export function terminalSafe(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: replacing them is the point
  return text.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, "?");
}
