import { color } from "./colors.js";

/** The marks of a line that reports an outcome, as listr2 draws a finished step. */
export const mark = {
  ok: (text: string) => `${color.green("✔")} ${text}`,
  warn: (text: string) => `${color.yellow("!")} ${text}`,
  bad: (text: string) => `${color.red("✖")} ${text}`,
};
