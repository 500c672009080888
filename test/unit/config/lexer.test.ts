import { describe, expect, it } from "vitest";
import { splitArgs, splitKeyword, strdelimAll, trimLineEnd } from "../../../src/config/lexer.js";

describe("splitKeyword (process_config_line_depth + strdelim)", () => {
  it.each([
    ["Port 22", "Port", "22"],
    ["Port=22", "Port", "22"],
    ["Port = 22", "Port", "22"],
    ["Port =22", "Port", "22"],
    ["Port= 22", "Port", "22"],
    ["  Port 22", "Port", "22"],
    ["\tPort\t22", "Port", "22"],
    ["\t  Port \t 22 \t", "Port", "22"],
    ["Port 22\r", "Port", "22"],
    ["Port 22\r\n", "Port", "22"],
    ["Port 22\f", "Port", "22"],
    ["ProxyCommand ssh -W %h:%p jaguar", "ProxyCommand", "ssh -W %h:%p jaguar"],
    ["Port 22 # the usual", "Port", "22 # the usual"],
  ])("%j -> keyword %j, rest %j", (line, keyword, rest) => {
    expect(splitKeyword(line)).toEqual({ keyword, rest });
  });

  it("skips only one '=': 'Port==22' leaves '=22' as the argument", () => {
    expect(splitKeyword("Port==22")).toEqual({ keyword: "Port", rest: "=22" });
    expect(splitKeyword("Port = = 22")).toEqual({ keyword: "Port", rest: "= 22" });
  });

  it.each([[""], ["   "], ["\t"], ["# a comment"], ["   # indented comment"], ["#Port 22"]])(
    "blank and comment line %j has no keyword",
    (line) => {
      expect(splitKeyword(line).keyword).toBe("");
    },
  );

  it("keeps the keyword's case (the reader lowercases it)", () => {
    expect(splitKeyword("pOrT 22").keyword).toBe("pOrT");
  });

  it("a keyword alone has an empty rest", () => {
    expect(splitKeyword("Port")).toEqual({ keyword: "Port", rest: "" });
    expect(splitKeyword("Port   ")).toEqual({ keyword: "Port", rest: "" });
  });

  it("a quoted keyword is unquoted; an unterminated one makes the line blank", () => {
    expect(splitKeyword('"Port" 22')).toEqual({ keyword: "Port", rest: "22" });
    expect(splitKeyword('"Port 22').keyword).toBe("");
  });
});

describe("trimLineEnd", () => {
  it("removes trailing whitespace and form feeds but never the first character", () => {
    expect(trimLineEnd("Port 22 \t\r\n")).toBe("Port 22");
    expect(trimLineEnd("x\f\f")).toBe("x");
    expect(trimLineEnd(" ")).toBe(" ");
    expect(trimLineEnd("")).toBe("");
  });
});

describe("splitArgs (misc.c argv_split, terminate_on_comment)", () => {
  const args = (text: string): string[] => {
    const r = splitArgs(text);
    if (!r.ok) throw new Error(`unexpected failure for ${text}`);
    return r.args;
  };

  it("splits on spaces and tabs", () => {
    expect(args("a b\tc")).toEqual(["a", "b", "c"]);
    expect(args("  a   b  ")).toEqual(["a", "b"]);
    expect(args("")).toEqual([]);
  });

  it("groups quoted words and joins adjacent quoted parts", () => {
    expect(args('a "b c" d')).toEqual(["a", "b c", "d"]);
    expect(args("'b c'")).toEqual(["b c"]);
    expect(args(`"a"b'c'`)).toEqual(["abc"]);
    expect(args(`"it's"`)).toEqual(["it's"]);
    expect(args(`'say "hi"'`)).toEqual(['say "hi"']);
    expect(args('""')).toEqual([""]);
    expect(args(`"" ''`)).toEqual(["", ""]);
  });

  it('understands the escapes \\" \\\' \\\\ and (outside quotes) "\\ "', () => {
    expect(args('a\\"b')).toEqual(['a"b']);
    expect(args("a\\'b")).toEqual(["a'b"]);
    expect(args("a\\\\b")).toEqual(["a\\b"]);
    expect(args("a\\ b")).toEqual(["a b"]);
    expect(args('"a\\"b"')).toEqual(['a"b']);
    expect(args("'a\\'b'")).toEqual(["a'b"]);
    expect(args('"a\\\\b"')).toEqual(["a\\b"]);
  });

  it("keeps unknown escapes (and '\\ ' inside quotes) literally", () => {
    expect(args("a\\nb")).toEqual(["a\\nb"]);
    expect(args("C:\\x")).toEqual(["C:\\x"]);
    expect(args('"a\\ b"')).toEqual(["a\\ b"]);
    expect(args("abc\\")).toEqual(["abc\\"]);
  });

  it("'#' at the start of a word ends the line; inside a word or quotes it is literal", () => {
    expect(args("a #b c")).toEqual(["a"]);
    expect(args("# all comment")).toEqual([]);
    expect(args("a#b")).toEqual(["a#b"]);
    expect(args('"#x" y')).toEqual(["#x", "y"]);
    expect(args("\\#x")).toEqual(["\\#x"]);
  });

  it("fails on an unterminated quote", () => {
    expect(splitArgs('"abc').ok).toBe(false);
    expect(splitArgs("'abc").ok).toBe(false);
    expect(splitArgs('a "b c').ok).toBe(false);
    expect(splitArgs(`"a'`).ok).toBe(false);
  });

  it("an unterminated quote after a comment is not seen", () => {
    expect(args('a # "unclosed')).toEqual(["a"]);
  });
});

describe("strdelimAll (strdelim for Match criteria)", () => {
  it("splits on whitespace and on one '='", () => {
    expect(strdelimAll("host a user b")).toEqual(["host", "a", "user", "b"]);
    expect(strdelimAll("host=a")).toEqual(["host", "a"]);
    expect(strdelimAll("host = a")).toEqual(["host", "a"]);
    expect(strdelimAll("host   a")).toEqual(["host", "a"]);
  });

  it("understands double quotes (not single quotes)", () => {
    expect(strdelimAll('exec "test -f /x" host y')).toEqual(["exec", "test -f /x", "host", "y"]);
    expect(strdelimAll("exec 'a b'")).toEqual(["exec", "'a", "b'"]);
    expect(strdelimAll('ab"cd ef" g')).toEqual(["abcd ef", "g"]);
    expect(strdelimAll('"" x')).toEqual(["", "x"]);
  });

  it("returns null for an unterminated double quote", () => {
    expect(strdelimAll('exec "echo')).toBeNull();
  });

  it("returns no tokens for empty text", () => {
    expect(strdelimAll("")).toEqual([]);
  });
});
