/**
 * Failed file operations as coded refusals (docs/cli.md, "Errors and exit codes"): a missing
 * file, a read-only file system, a full disk or a directory where a file was expected is one
 * coded line, never a stack trace. Kept apart from `common.ts` so that `main.ts` can use it
 * without loading every command's helpers.
 */
import { IcfareError } from "../core/errors.ts";

/** Error numbers of file operations, with the code and the words icfare answers with. */
const FS_ERRORS: Record<string, [code: string, words: string]> = {
  ENOENT: ["FILE_NOT_FOUND", "no such file or directory"],
  EACCES: ["PERMISSION_DENIED", "permission denied"],
  EPERM: ["PERMISSION_DENIED", "operation not permitted"],
  EROFS: ["READ_ONLY_FILESYSTEM", "read-only file system"],
  ENOSPC: ["NO_SPACE", "no space left on device"],
  EDQUOT: ["NO_SPACE", "disk quota exceeded"],
  EISDIR: ["IS_A_DIRECTORY", "is a directory"],
  ENOTDIR: ["NOT_A_DIRECTORY", "not a directory"],
  EEXIST: ["FILE_EXISTS", "already exists"],
  ENAMETOOLONG: ["BAD_PATH", "file name too long"],
  ELOOP: ["BAD_PATH", "too many levels of symbolic links"],
  EMFILE: ["TOO_MANY_FILES", "too many open files"],
  EIO: ["IO_ERROR", "input/output error"],
};

/**
 * A failed file operation as a coded refusal, or null when `e` is not one: `what` (an option
 * or a role, e.g. "--file") and the operation and path Deno names, then the reason. Deno's own
 * permission refusals (`NotCapable`) are `NOT_PERMITTED`.
 */
export function fsRefusal(e: unknown, what?: string): IcfareError | null {
  if (!(e instanceof Error)) return null;
  const where = /\(os error \d+\): (.*)$/.exec(e.message)?.[1] ?? "";
  const lead = [what, where].filter(Boolean).join(" ");
  if (e.name === "NotCapable") {
    return new IcfareError(
      "NOT_PERMITTED",
      `${lead || e.message}: not allowed by this run's Deno permissions`,
    );
  }
  const known = FS_ERRORS[(e as { code?: string }).code ?? ""];
  if (!known) return null;
  return new IcfareError(known[0], `${lead || "file"}: ${known[1]}`);
}
