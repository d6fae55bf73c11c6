// The demo's seed data: a small shop schema (customers with PII columns, products, orders, order_items) as SQL text,
// generated from a fixed PRNG seed so every run — and every screenshot and test — sees the same rows.

/** Row counts of the seed, exported so docs and tests can state them. */
export const SEED_COUNTS = { customers: 200, products: 40, orders: 500, order_items: 1200 } as const;

const FIRST = ['Ada', 'Grace', 'Alan', 'Edsger', 'Barbara', 'Donald', 'Margaret', 'Ken', 'Frances', 'Dennis', 'Radia', 'Tim', 'Shafi', 'Leslie', 'Karen', 'John', 'Hedy', 'Niklaus', 'Sophie', 'Linus', 'Lin', 'Yukihiro', 'Anita', 'Guido'];
const LAST = ['Lovelace', 'Hopper', 'Turing', 'Dijkstra', 'Liskov', 'Knuth', 'Hamilton', 'Thompson', 'Allen', 'Ritchie', 'Perlman', 'Berners-Lee', 'Goldwasser', 'Lamport', 'Jones', 'McCarthy', 'Lamarr', 'Wirth', 'Wilson', 'Torvalds', 'Chen', 'Matsumoto', 'Borg', 'van Rossum'];
const COUNTRIES = ['US', 'US', 'US', 'GB', 'DE', 'FR', 'NL', 'SE', 'CA', 'JP', 'BR', 'IN', 'AU'];
const PRODUCT_WORDS = {
  adjective: ['Quiet', 'Sturdy', 'Compact', 'Classic', 'Smart', 'Portable', 'Ergonomic', 'Wireless'],
  noun: ['Keyboard', 'Monitor Arm', 'Desk Lamp', 'Notebook', 'Headset', 'Webcam', 'Chair Cushion', 'USB Hub', 'Mouse', 'Standing Desk'],
};
const CATEGORIES = { Keyboard: 'peripherals', 'Monitor Arm': 'furniture', 'Desk Lamp': 'lighting', Notebook: 'stationery', Headset: 'audio', Webcam: 'video', 'Chair Cushion': 'furniture', 'USB Hub': 'peripherals', Mouse: 'peripherals', 'Standing Desk': 'furniture' } as const;
const STATUSES = ['delivered', 'delivered', 'delivered', 'shipped', 'paid', 'cancelled', 'refunded'];

/** mulberry32: tiny, fast, good enough to make fake data reproducible. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const quote = (s: string) => `'${s.replace(/'/g, "''")}'`;
const pad = (n: number, width: number) => String(n).padStart(width, '0');
const isoDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);

const SCHEMA = `
CREATE TABLE customers (
  id            integer PRIMARY KEY,
  full_name     text NOT NULL,
  email         text NOT NULL UNIQUE,
  phone         text,
  ssn           text,
  date_of_birth date,
  country       char(2) NOT NULL,
  created_at    timestamptz NOT NULL
);
COMMENT ON COLUMN customers.email IS 'PII';
COMMENT ON COLUMN customers.phone IS 'PII';
COMMENT ON COLUMN customers.ssn IS 'PII (fake: 9xx numbers are never issued)';
COMMENT ON COLUMN customers.date_of_birth IS 'PII';
CREATE TABLE products (
  id          integer PRIMARY KEY,
  sku         text NOT NULL UNIQUE,
  name        text NOT NULL,
  category    text NOT NULL,
  price_cents integer NOT NULL CHECK (price_cents > 0)
);
CREATE TABLE orders (
  id          integer PRIMARY KEY,
  customer_id integer NOT NULL REFERENCES customers(id),
  status      text NOT NULL,
  ordered_at  timestamptz NOT NULL,
  total_cents integer NOT NULL
);
CREATE TABLE order_items (
  order_id         integer NOT NULL REFERENCES orders(id),
  product_id       integer NOT NULL REFERENCES products(id),
  quantity         integer NOT NULL CHECK (quantity > 0),
  unit_price_cents integer NOT NULL,
  PRIMARY KEY (order_id, product_id)
);
CREATE INDEX orders_customer_id ON orders (customer_id);
`;

/** The whole seed as one SQL text (schema + inserts), identical on every call. */
export function seedSql(): string {
  const rand = prng(20260501);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(rand() * list.length)]!;
  const int = (min: number, max: number) => min + Math.floor(rand() * (max - min + 1));
  const epoch = Date.UTC(2024, 0, 1);
  const day = 86_400_000;
  const out: string[] = [SCHEMA];

  const customers: string[] = [];
  for (let id = 1; id <= SEED_COUNTS.customers; id++) {
    const first = pick(FIRST);
    const last = pick(LAST);
    // Reserved-for-fiction data only: example.com/org mail, 555-01xx phone numbers, 9xx SSNs.
    const email = `${first}.${last}.${id}@example.${id % 3 === 0 ? 'org' : 'com'}`.toLowerCase().replace(/[^a-z0-9.@-]/g, '');
    const phone = `+1-555-01${pad(int(0, 99), 2)}`;
    const ssn = `9${pad(int(0, 99), 2)}-${pad(int(1, 99), 2)}-${pad(int(1, 9999), 4)}`;
    const dob = isoDay(Date.UTC(1950, 0, 1) + int(0, 50 * 365) * day);
    const created = new Date(epoch + int(0, 700) * day + int(0, 86_399) * 1000).toISOString();
    customers.push(`(${id}, ${quote(`${first} ${last}`)}, ${quote(email)}, ${quote(phone)}, ${quote(ssn)}, ${quote(dob)}, ${quote(pick(COUNTRIES))}, ${quote(created)})`);
  }
  out.push(`INSERT INTO customers (id, full_name, email, phone, ssn, date_of_birth, country, created_at) VALUES\n${customers.join(',\n')};`);

  const prices: number[] = [0];
  const products: string[] = [];
  const seen = new Set<string>();
  for (let id = 1; id <= SEED_COUNTS.products; id++) {
    let name: string;
    let noun: keyof typeof CATEGORIES;
    do {
      noun = pick(PRODUCT_WORDS.noun) as keyof typeof CATEGORIES;
      name = `${pick(PRODUCT_WORDS.adjective)} ${noun}`;
    } while (seen.has(name) && seen.size < PRODUCT_WORDS.adjective.length * PRODUCT_WORDS.noun.length);
    seen.add(name);
    const price = int(5, 400) * 100 - 1;
    prices.push(price);
    products.push(`(${id}, ${quote(`SKU-${pad(id, 4)}`)}, ${quote(name)}, ${quote(CATEGORIES[noun])}, ${price})`);
  }
  out.push(`INSERT INTO products (id, sku, name, category, price_cents) VALUES\n${products.join(',\n')};`);

  // Items first (totals come from them), spread so that every order has at least one line.
  const items = new Map<number, Map<number, number>>();
  for (let n = 0; n < SEED_COUNTS.order_items; n++) {
    const orderId = n < SEED_COUNTS.orders ? n + 1 : int(1, SEED_COUNTS.orders);
    const lines = items.get(orderId) ?? new Map<number, number>();
    let productId = int(1, SEED_COUNTS.products);
    while (lines.has(productId)) productId = (productId % SEED_COUNTS.products) + 1;
    lines.set(productId, int(1, 4));
    items.set(orderId, lines);
  }
  const orders: string[] = [];
  const itemRows: string[] = [];
  for (let id = 1; id <= SEED_COUNTS.orders; id++) {
    let total = 0;
    for (const [productId, quantity] of items.get(id)!) {
      total += quantity * prices[productId]!;
      itemRows.push(`(${id}, ${productId}, ${quantity}, ${prices[productId]})`);
    }
    const ordered = new Date(epoch + int(30, 880) * day + int(0, 86_399) * 1000).toISOString();
    orders.push(`(${id}, ${int(1, SEED_COUNTS.customers)}, ${quote(pick(STATUSES))}, ${quote(ordered)}, ${total})`);
  }
  out.push(`INSERT INTO orders (id, customer_id, status, ordered_at, total_cents) VALUES\n${orders.join(',\n')};`);
  out.push(`INSERT INTO order_items (order_id, product_id, quantity, unit_price_cents) VALUES\n${itemRows.join(',\n')};`);
  return out.join('\n');
}
