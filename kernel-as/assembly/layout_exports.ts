import {
  ENGINE_BASE,
  IN_BASE,
  INDEX_BASE,
  MEMORY_END,
  OUT_BASE,
  PARAM_BASE,
  PK_BASE,
  SM2TAB_BASE,
  SYM_BASE,
} from "./memory";

/** Memory layout and static-data end, for the wrapper's start-up check. */
export function layout(which: i32): usize {
  switch (which) {
    case 0: return __heap_base;
    case 1: return PARAM_BASE;
    case 2: return SYM_BASE;
    case 3: return PK_BASE;
    case 4: return INDEX_BASE;
    case 5: return IN_BASE;
    case 6: return OUT_BASE;
    case 7: return ENGINE_BASE;
    case 8: return SM2TAB_BASE;
    case 9: return MEMORY_END;
  }
  return 0;
}
