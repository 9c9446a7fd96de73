//! Bus-feed records and a generator of bus-feed XML for tests and benches.
//!
//! The seed's event-dispatch examples read a Chicago bus feed: a `<buses>`
//! element holding `<bus>` elements, each with child elements such as
//! `<id>`, `<route>`, `<direction>`, `<latitude>`, `<longitude>`, whose text
//! is the value. A stage turns each `<bus>` into a record mapping child
//! names to texts (Python's `bus_dict`): that is a [`Bus`].
//!
//! [`generate_feed`] writes a feed of that shape, with the real feed's CRLF
//! line ends, mixed tab and space indentation and a CDATA section, so that
//! tests and benches need no data files.
//!
//! ```
//! use corio::pipe::bus::generate_feed;
//!
//! let xml = generate_feed(3, 1);
//! assert!(xml.starts_with("<?xml version=\"1.0\"?>\r\n"));
//! assert_eq!(xml.matches("<bus>").count(), 3);
//! assert_eq!(xml, generate_feed(3, 1)); // the same seed gives the same feed
//! ```

use std::borrow::Cow;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

/// A bus record: child element names mapped to their texts, in document
/// order, like the seed's `bus_dict`.
///
/// It is a short vector of pairs, not a hash map: a bus has about a dozen
/// fields, so a lookup compares a few short strings and building one costs
/// one allocation. Keys and values can borrow from the document.
///
/// ```
/// use corio::pipe::bus::Bus;
///
/// let mut bus = Bus::new();
/// bus.insert("route", "22");
/// bus.insert("id", "1485");
/// bus.insert("route", "36"); // replaces, as `bus_dict[name] = text` does
/// assert_eq!(bus.get("route"), Some("36"));
/// assert_eq!(bus.get("color"), None);
/// assert_eq!(bus.len(), 2);
/// ```
///
/// It is `Serialize` and `Deserialize` (a deserialized record owns its
/// strings), so it can cross to a child process
/// ([`to_process`](super::to_process)).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bus<'a> {
    fields: Vec<(Cow<'a, str>, Cow<'a, str>)>,
}

impl<'a> Bus<'a> {
    /// An empty record.
    pub fn new() -> Self {
        Bus { fields: Vec::new() }
    }

    /// An empty record with room for `n` fields.
    pub fn with_capacity(n: usize) -> Self {
        Bus {
            fields: Vec::with_capacity(n),
        }
    }

    /// Sets field `name` to `value`, replacing an earlier value.
    pub fn insert(&mut self, name: impl Into<Cow<'a, str>>, value: impl Into<Cow<'a, str>>) {
        let name = name.into();
        let value = value.into();
        match self.fields.iter_mut().find(|(n, _)| *n == name) {
            Some(field) => field.1 = value,
            None => self.fields.push((name, value)),
        }
    }

    /// The value of field `name` (Python's `bus.get(name)`).
    #[inline]
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| &**v)
    }

    /// The fields, in the order they were first set.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.fields.iter().map(|(n, v)| (&**n, &**v))
    }

    /// How many fields.
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// Whether there are no fields.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// The record with its strings copied, so that it no longer borrows
    /// from the document.
    pub fn into_owned(self) -> Bus<'static> {
        Bus {
            fields: self
                .fields
                .into_iter()
                .map(|(n, v)| (Cow::Owned(n.into_owned()), Cow::Owned(v.into_owned())))
                .collect(),
        }
    }
}

/// The routes of generated buses; route `"22"` is common, as in the real
/// feed's examples.
const ROUTES: [&str; 8] = ["22", "36", "147", "81", "22", "9", "151", "22"];
const DIRECTIONS: [&str; 4] = ["North Bound", "South Bound", "East Bound", "West Bound"];
const COLORS: [&str; 5] = ["#3300ff", "#996633", "#cc3300", "#ff0066", "#006633"];
const STOPS: [&str; 5] = [
    "Paulina & Howard Terminal",
    "Marine Drive & Wilson",
    "Clark & Arthur Terminal",
    "Harrison & Kedzie",
    "Forest Preserve Ave & Harlem/Irving Park",
];

/// A small deterministic random generator (SplitMix64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn pick<'s>(&mut self, items: &[&'s str]) -> &'s str {
        items[self.below(items.len() as u64) as usize]
    }

    /// A float in `[lo, lo + span)` with many digits, as the feed has.
    fn coord(&mut self, lo: f64, span: f64) -> f64 {
        lo + span * (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Generates a bus feed of `n_buses` buses, the same for the same `seed`.
///
/// The layout copies the real feed's: an XML declaration, CRLF line ends,
/// indentation mixing tabs and spaces, fields `id`, `route`, `color`,
/// `revenue`, `direction`, `latitude`, `longitude`, `pattern`,
/// `patternDirection`, `run`, `finalStop` (a CDATA section holding `&`) and
/// `operator`, and an empty line inside each bus. Each bus takes about 560
/// bytes, so `generate_feed(18_000, seed)` is about 10 MB.
pub fn generate_feed(n_buses: usize, seed: u64) -> String {
    let mut rng = Rng(seed);
    let mut out = String::with_capacity(200 + n_buses * 580);
    out.push_str("<?xml version=\"1.0\"?>\r\n\r\n\r\n\t\t<buses>\r\n\r\n");
    for _ in 0..n_buses {
        let direction = rng.pick(&DIRECTIONS);
        let lat = rng.coord(41.64, 0.4);
        let lon = rng.coord(-87.94, 0.42);
        // `write!` into a String cannot fail.
        let _ = write!(
            out,
            "        \t<bus>\r\n\
             \x20       \t\t<id>{id}</id>\r\n\
             \x20       \t\t<route>{route}</route>\r\n\
             \x20       \t\t\r\n\
             \x20       \t\t<color>{color}</color>\r\n\
             \x20       \t\t<revenue>{revenue}</revenue>\r\n\
             \x20       \t\t<direction>{direction}</direction>\r\n\
             \x20       \t\t<latitude>{lat}</latitude>\r\n\
             \x20           \t<longitude>{lon}</longitude>\r\n\
             \x20           \t<pattern>{pattern}</pattern>\r\n\
             \x20           \t<patternDirection>{direction}</patternDirection>\r\n\
             \t\t\t\t<run>{run_letter}{run}</run>\r\n\
             \t            <finalStop><![CDATA[{stop}]]></finalStop>\r\n\
             \t            <operator>{operator}</operator>  \r\n\
             \x20           </bus>\r\n\r\n",
            id = 1000 + rng.below(9000),
            route = rng.pick(&ROUTES),
            color = rng.pick(&COLORS),
            revenue = if rng.below(10) == 0 { "false" } else { "true" },
            pattern = 1000 + rng.below(9000),
            run_letter = rng.pick(&["P", "F", "K", "C"]),
            run = 100 + rng.below(900),
            stop = rng.pick(&STOPS),
            operator = 10000 + rng.below(90000),
        );
    }
    out.push_str("\t\t\r\n\t\t</buses>\r\n");
    out
}
