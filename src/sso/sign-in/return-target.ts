/** Where a sign-in returns to once the IdP answered. */
export type ReturnTarget =
  | { readonly kind: 'interaction'; readonly uid: string }
  | { readonly kind: 'redirect'; readonly uri: string }
  | { readonly kind: 'test' };
