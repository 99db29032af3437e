//! Working days on the PRC calendar: weekends, public holidays and make-up working
//! days (调休), from `kb/calendar.toml`. A date in a year the data does not cover is
//! an error, never a guess.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Datelike, Days, NaiveDate, Weekday};
use serde::Deserialize;

use crate::KbError;

#[derive(Debug, Deserialize)]
struct CalendarFile {
    #[serde(rename = "year")]
    years: Vec<YearFile>,
}

#[derive(Debug, Deserialize)]
struct YearFile {
    year: i32,
    source: String,
    #[serde(default)]
    unconfirmed: bool,
    holidays: Vec<String>,
    workdays: Vec<String>,
}

/// What the calendar knows about one year.
#[derive(Debug, Clone)]
pub struct YearInfo {
    pub year: i32,
    /// The State Council notice the dates come from.
    pub source: String,
    pub unconfirmed: bool,
}

/// The PRC working-day calendar.
#[derive(Debug, Clone)]
pub struct Calendar {
    years: BTreeMap<i32, YearInfo>,
    holidays: BTreeSet<NaiveDate>,
    workdays: BTreeSet<NaiveDate>,
}

fn parse_date(s: &str, path: &str) -> Result<NaiveDate, KbError> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .map_err(|e| KbError::parse(path, format!("bad date {s:?}: {e}")))
}

impl Calendar {
    pub(crate) fn parse(text: &str, path: &str) -> Result<Calendar, KbError> {
        let file: CalendarFile = toml::from_str(text).map_err(|e| KbError::parse(path, e))?;
        let mut cal = Calendar {
            years: BTreeMap::new(),
            holidays: BTreeSet::new(),
            workdays: BTreeSet::new(),
        };
        for y in file.years {
            for h in &y.holidays {
                let (from, to) = match h.split_once("..") {
                    Some((a, b)) => (parse_date(a, path)?, parse_date(b, path)?),
                    None => {
                        let d = parse_date(h, path)?;
                        (d, d)
                    }
                };
                if to < from {
                    return Err(KbError::invalid(path, format!("empty range {h}")));
                }
                let mut d = from;
                while d <= to {
                    cal.holidays.insert(d);
                    d = d
                        .checked_add_days(Days::new(1))
                        .ok_or_else(|| KbError::invalid(path, "date overflow"))?;
                }
            }
            for w in &y.workdays {
                let d = parse_date(w, path)?;
                if !matches!(d.weekday(), Weekday::Sat | Weekday::Sun) {
                    return Err(KbError::invalid(
                        path,
                        format!("make-up working day {d} is not a weekend day"),
                    ));
                }
                cal.workdays.insert(d);
            }
            cal.years.insert(
                y.year,
                YearInfo {
                    year: y.year,
                    source: y.source,
                    unconfirmed: y.unconfirmed,
                },
            );
        }
        if let Some(d) = cal.holidays.intersection(&cal.workdays).next() {
            return Err(KbError::invalid(
                path,
                format!("{d} is both a holiday and a working day"),
            ));
        }
        Ok(cal)
    }

    /// The calendar embedded in the knowledge base.
    pub fn prc() -> Result<Calendar, KbError> {
        Calendar::parse(crate::embedded_str("calendar.toml")?, "kb/calendar.toml")
    }

    /// The years the calendar covers, in order.
    pub fn years(&self) -> impl Iterator<Item = &YearInfo> {
        self.years.values()
    }

    /// Information on the year of `date`, or an error when the year is not published.
    pub fn year_info(&self, date: NaiveDate) -> Result<&YearInfo, KbError> {
        self.years.get(&date.year()).ok_or_else(|| {
            let known: Vec<String> = self.years.keys().map(|y| y.to_string()).collect();
            KbError::Calendar(format!(
                "{date} is outside the published holiday schedules (known years: {}); \
                 the PRC calendar of {} is not in the knowledge base",
                known.join(", "),
                date.year()
            ))
        })
    }

    /// True if `date` is a working day: a weekday that is not a public holiday, or a
    /// weekend day declared a make-up working day.
    pub fn is_working_day(&self, date: NaiveDate) -> Result<bool, KbError> {
        self.year_info(date)?;
        if self.workdays.contains(&date) {
            return Ok(true);
        }
        if self.holidays.contains(&date) {
            return Ok(false);
        }
        Ok(!matches!(date.weekday(), Weekday::Sat | Weekday::Sun))
    }

    /// The date of the `n`-th working day after `from`. The start day itself is not
    /// counted (PRC Civil Code Art. 201: a period counted in days starts on the next
    /// day), so "within 10 working days from launch" ends on
    /// `add_working_days(launch, 10)`. `n = 0` returns `from`.
    pub fn add_working_days(&self, from: NaiveDate, n: u32) -> Result<NaiveDate, KbError> {
        self.year_info(from)?;
        let mut d = from;
        let mut left = n;
        while left > 0 {
            d = d
                .checked_add_days(Days::new(1))
                .ok_or_else(|| KbError::Calendar("date overflow".into()))?;
            if self.is_working_day(d)? {
                left -= 1;
            }
        }
        Ok(d)
    }

    /// Working days strictly after `from` up to and including `to` (0 if `to <= from`).
    pub fn working_days_between(&self, from: NaiveDate, to: NaiveDate) -> Result<u32, KbError> {
        let mut n = 0;
        let mut d = from;
        while d < to {
            d = d
                .checked_add_days(Days::new(1))
                .ok_or_else(|| KbError::Calendar("date overflow".into()))?;
            if self.is_working_day(d)? {
                n += 1;
            }
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn national_day_2025_and_makeup_days() {
        let c = Calendar::prc().unwrap();
        // 2025-09-28 (Sunday) is a make-up working day; 10-01..10-08 are holidays;
        // 10-11 (Saturday) is a make-up working day.
        assert!(c.is_working_day(d("2025-09-28")).unwrap());
        assert!(!c.is_working_day(d("2025-10-01")).unwrap());
        assert!(!c.is_working_day(d("2025-10-08")).unwrap());
        assert!(c.is_working_day(d("2025-10-11")).unwrap());
        // From Fri 2025-09-26: 9-28(1) 9-29(2) 9-30(3) 10-09(4) 10-10(5) 10-11(6)
        // 10-13(7) 10-14(8) 10-15(9) 10-16(10).
        assert_eq!(
            c.add_working_days(d("2025-09-26"), 10).unwrap(),
            d("2025-10-16")
        );
    }

    #[test]
    fn spring_festival_2024() {
        let c = Calendar::prc().unwrap();
        assert!(c.is_working_day(d("2024-02-04")).unwrap()); // Sunday make-up day
        assert!(!c.is_working_day(d("2024-02-12")).unwrap()); // Monday holiday
        assert!(c.is_working_day(d("2024-02-18")).unwrap()); // Sunday make-up day
        // Thu 2024-02-08: Fri 02-09 (除夕) works, 02-10..02-17 are the holiday, and
        // Sunday 02-18 is a make-up working day.
        assert_eq!(
            c.add_working_days(d("2024-02-08"), 2).unwrap(),
            d("2024-02-18")
        );
    }

    #[test]
    fn unknown_year_is_an_error() {
        let c = Calendar::prc().unwrap();
        let e = c.add_working_days(d("2031-03-01"), 5).unwrap_err();
        assert!(e.to_string().contains("2031"), "{e}");
        // Running past the last known year is an error too.
        assert!(c.add_working_days(d("2026-12-30"), 10).is_err());
    }

    #[test]
    fn zero_days_and_between() {
        let c = Calendar::prc().unwrap();
        assert_eq!(
            c.add_working_days(d("2025-06-03"), 0).unwrap(),
            d("2025-06-03")
        );
        let end = c.add_working_days(d("2025-03-03"), 20).unwrap();
        assert_eq!(c.working_days_between(d("2025-03-03"), end).unwrap(), 20);
    }
}
