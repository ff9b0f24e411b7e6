/** A JSON-like literal, as read statically from decorator arguments or passed at run time. */
export type Literal = string | number | boolean | null | Literal[] | { [key: string]: Literal };
