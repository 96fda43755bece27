/**
 * What `kho new-plugin` accepts as a plugin name. The name becomes the npm
 * package name, the plugin name, the KHO node name, the struct name
 * (`<name>_ser`) and the compatible string (`<name>-v1`), so it must be
 * valid as all of them: lowercase (npm), a C identifier that is not a
 * keyword (the generated C header), and short enough that the compatible
 * string and its NUL fit the struct's 32-byte `compatible` field.
 */

/** Bytes of the scaffolded struct's `compatible` field. */
export const COMPATIBLE_BYTES = 32;
const VERSION_SUFFIX = "-v1";
export const NAME_MAX = COMPATIBLE_BYTES - VERSION_SUFFIX.length - 1;

const C_KEYWORDS = new Set(
  (
    "auto break case char const continue default do double else enum extern float for goto if inline int long " +
    "register restrict return short signed sizeof static struct switch typedef union unsigned void volatile while " +
    "alignas alignof bool constexpr false nullptr static_assert thread_local true typeof typeof_unqual"
  ).split(" "),
);

/** Why `name` cannot name a scaffolded plugin; null when it can. */
export function pluginNameProblem(name: string): string | null {
  if (!/^[a-z][a-z0-9_]*$/.test(name))
    return `"${name}" is not a lowercase C identifier (a letter, then letters, digits or _), as a package name needs`;
  if (name.length > NAME_MAX)
    return (
      `"${name}" is ${name.length} characters; "${name}${VERSION_SUFFIX}" and its NUL must fit ` +
      `${COMPATIBLE_BYTES} bytes (at most ${NAME_MAX})`
    );
  if (C_KEYWORDS.has(name)) return `"${name}" is a C keyword`;
  return null;
}

export const compatibleOf = (name: string): string => `${name}${VERSION_SUFFIX}`;
