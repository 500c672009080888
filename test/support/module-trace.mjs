// Preloaded with `node --import <this file>`: appends the URL of every module the process resolves
// to the file named by JG_MODULE_TRACE, one a line, so a test can tell which modules a command
// loaded (e.g. that `jumpgate cp` through a gate never loads commander). The hooks run on Node's
// loader thread; appendFileSync keeps each line whole and in order.
import { register } from "node:module";

const hooks = `
import { appendFileSync } from "node:fs";
export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  if (process.env.JG_MODULE_TRACE) appendFileSync(process.env.JG_MODULE_TRACE, result.url + "\\n");
  return result;
}
`;
register(`data:text/javascript,${encodeURIComponent(hooks)}`);
