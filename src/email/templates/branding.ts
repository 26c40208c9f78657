/** How a tenant's emails look: the product they name, a logo, a colour, a support address. */
export interface Branding {
  readonly product_name: string;
  readonly logo_url: string;
  readonly color: string;
  readonly support_email: string;
}

/** What a tenant that saved no branding gets. */
export const DEFAULT_BRANDING: Branding = {
  product_name: 'Tessera',
  logo_url: '',
  color: '#3b5bdb',
  support_email: '',
};
