//! Query strings: decoding `application/x-www-form-urlencoded` pairs and rewriting one parameter.

/// The decoded `(name, value)` pairs of a raw query string, in order.
///
/// `+` is a space and `%XX` a byte; invalid UTF-8 is replaced, a malformed escape is kept as is.
pub(crate) fn decode_query(raw: &str) -> Vec<(String, String)> {
    raw.split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (decode_component(name), decode_component(value))
        })
        .collect()
}

/// The first value of `name` in decoded query pairs.
pub(crate) fn first_value<'a>(query: &'a [(String, String)], name: &str) -> Option<&'a str> {
    query
        .iter()
        .find(|(given, _)| given == name)
        .map(|(_, value)| value.as_str())
}

/// `raw` without any `name` parameter, followed by `name=value` (`value` is written as is).
///
/// The other parameters keep their order and their original encoding.
pub(crate) fn with_param(raw: &str, name: &str, value: &str) -> String {
    let mut pairs: Vec<String> = raw
        .split('&')
        .filter(|pair| !pair.is_empty())
        .filter(|pair| decode_component(pair.split('=').next().unwrap_or(pair)) != name)
        .map(str::to_owned)
        .collect();
    pairs.push(format!("{name}={value}"));
    pairs.join("&")
}

fn decode_component(encoded: &str) -> String {
    let bytes = encoded.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        match bytes[index] {
            b'+' => decoded.push(b' '),
            b'%' => {
                let escaped = bytes
                    .get(index + 1..index + 3)
                    .and_then(|hex| std::str::from_utf8(hex).ok())
                    .and_then(|hex| u8::from_str_radix(hex, 16).ok());
                if let Some(byte) = escaped {
                    decoded.push(byte);
                    index += 2;
                } else {
                    decoded.push(b'%');
                }
            }
            byte => decoded.push(byte),
        }
        index += 1;
    }
    String::from_utf8_lossy(&decoded).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Escapes and `+` are decoded, and pairs keep their order.
    #[test]
    fn decodes_pairs_in_order() {
        assert_eq!(
            decode_query("b=x%2By&a=hello+world&flag&bad=%zz"),
            vec![
                ("b".to_owned(), "x+y".to_owned()),
                ("a".to_owned(), "hello world".to_owned()),
                ("flag".to_owned(), String::new()),
                ("bad".to_owned(), "%zz".to_owned()),
            ]
        );
    }

    /// Rewriting a parameter keeps the others as they were sent.
    #[test]
    fn with_param_replaces_only_that_name() {
        assert_eq!(
            with_param("status=open%20now&page=2&per_page=5", "page", "3"),
            "status=open%20now&per_page=5&page=3"
        );
        assert_eq!(with_param("", "page", "2"), "page=2");
    }
}
