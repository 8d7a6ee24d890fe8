export { Router, type RouterOptions } from './router.js';
export type { RouteDecision, RouteRequest, HeaderSource } from './types.js';
export { compileHeaderMatcher, compileHeaderMatchers, headerValue, type HeaderPredicate } from './header-matcher.js';
export { compileStringMatch, type StringPredicate } from './string-matcher.js';
export { DomainIndex } from './domain-index.js';
export { splitAuthority, type SplitAuthority } from './authority.js';
export { UpstreamRewrite, compileUpstreamRewrite } from './upstream-rewrite.js';
export { RecordHeaders, HeaderMutator, type HeaderWriter } from './header-mutation.js';
export { PathNormalizer, canonicalPath, removeDotSegments } from './path-normalization.js';
