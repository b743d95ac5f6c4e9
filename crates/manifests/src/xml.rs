//! A small element tree for the XML manifests (pom.xml, MSBuild projects, packages.config).
//!
//! Built on quick-xml's event reader with three guarantees for untrusted input: a DOCTYPE is
//! skipped, never interpreted, so custom entities are never expanded (a reference to one stays
//! in the text verbatim, `&name;`); nesting deeper than [`MAX_DEPTH`] is refused; and the tree
//! holds no more than the input's own text.

use std::borrow::Cow;

use quick_xml::{
    escape::resolve_predefined_entity,
    events::{BytesStart, Event},
    reader::Reader,
};

use crate::{Format, MAX_DEPTH, ManifestError};

/// One element: its local name (namespace prefix dropped), attributes, direct text and children.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Element {
    pub(crate) name: String,
    attributes: Vec<(String, String)>,
    text: String,
    pub(crate) children: Vec<Element>,
}

impl Element {
    /// Whether the element is called `name` (XML manifests in the wild disagree on case).
    pub(crate) fn is(&self, name: &str) -> bool {
        self.name.eq_ignore_ascii_case(name)
    }

    /// The value of attribute `name` (compared case-insensitively, as MSBuild does).
    pub(crate) fn attr(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// The element's own text, trimmed.
    pub(crate) fn text(&self) -> &str {
        self.text.trim()
    }

    /// The children called `name`.
    pub(crate) fn children_named<'a, 'n>(
        &'a self,
        name: &'n str,
    ) -> impl Iterator<Item = &'a Element> + use<'a, 'n> {
        self.children.iter().filter(move |child| child.is(name))
    }

    /// The first child called `name`.
    pub(crate) fn child(&self, name: &str) -> Option<&Element> {
        self.children_named(name).next()
    }

    /// The trimmed text of the first child called `name`, when it has any.
    pub(crate) fn child_text(&self, name: &str) -> Option<&str> {
        self.child(name)
            .map(Element::text)
            .filter(|text| !text.is_empty())
    }

    /// Follows a path of child names, taking every match at each step.
    pub(crate) fn descendants<'a>(&'a self, path: &[&str]) -> Vec<&'a Element> {
        let mut level = vec![self];
        for step in path {
            level = level
                .into_iter()
                .flat_map(|el| el.children_named(step))
                .collect();
        }
        level
    }
}

/// Parses `text` into its root element; `format` names the file in errors.
pub(crate) fn parse(format: Format, text: &str) -> Result<Element, ManifestError> {
    let mut reader = Reader::from_str(text);
    let mut open: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    loop {
        let event = reader.read_event().map_err(|e| {
            ManifestError::syntax(format, format!("{e} (at byte {})", reader.error_position()))
        })?;
        match event {
            Event::Start(start) => {
                if open.len() >= MAX_DEPTH {
                    return Err(ManifestError::TooDeep { limit: MAX_DEPTH });
                }
                open.push(element(format, &start)?);
            }
            Event::Empty(start) => {
                let el = element(format, &start)?;
                attach(format, el, &mut open, &mut root)?;
            }
            Event::End(_) => {
                if let Some(el) = open.pop() {
                    attach(format, el, &mut open, &mut root)?;
                }
            }
            Event::Text(t) => push_text(&mut open, &t.xml10_content()),
            Event::CData(c) => push_text(&mut open, &c.into_inner()),
            Event::GeneralRef(r) => {
                let resolved = match r.resolve_char_ref() {
                    Ok(Some(c)) => Cow::Owned(c.to_string()),
                    Ok(None) => reference(&r.into_inner()),
                    Err(e) => return Err(ManifestError::syntax(format, e)),
                };
                push_text(&mut open, &resolved);
            }
            Event::Eof => break,
            // Declarations, processing instructions, comments and the DOCTYPE (with any entity
            // definitions in it) carry no dependencies and are never interpreted.
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) | Event::DocType(_) => {}
        }
    }
    if let Some(el) = open.last() {
        return Err(ManifestError::syntax(
            format,
            format!("element <{}> is never closed", el.name),
        ));
    }
    root.ok_or_else(|| ManifestError::syntax(format, "no root element"))
}

fn element(format: Format, start: &BytesStart<'_>) -> Result<Element, ManifestError> {
    let mut attributes = Vec::new();
    for attr in start.attributes() {
        let attr = attr.map_err(|e| ManifestError::syntax(format, e))?;
        let key = attr.key.local_name().into_inner().to_owned();
        attributes.push((key, unescape(&attr.value).into_owned()));
    }
    Ok(Element {
        name: start.local_name().into_inner().to_owned(),
        attributes,
        ..Element::default()
    })
}

fn attach(
    format: Format,
    el: Element,
    open: &mut [Element],
    root: &mut Option<Element>,
) -> Result<(), ManifestError> {
    if let Some(parent) = open.last_mut() {
        parent.children.push(el);
    } else if root.is_none() {
        *root = Some(el);
    } else {
        return Err(ManifestError::syntax(
            format,
            format!("second root element <{}>", el.name),
        ));
    }
    Ok(())
}

fn push_text(open: &mut [Element], text: &str) {
    if let Some(el) = open.last_mut() {
        el.text.push_str(text);
    }
}

/// A predefined entity's character; any other reference is kept as written.
fn reference(name: &str) -> Cow<'static, str> {
    match resolve_predefined_entity(name) {
        Some(c) => Cow::Borrowed(c),
        None => Cow::Owned(format!("&{name};")),
    }
}

/// Resolves character references and the five predefined entities in an attribute value,
/// leaving every other `&…;` (and any stray `&`) as written.
fn unescape(raw: &str) -> Cow<'_, str> {
    if !raw.contains('&') {
        return Cow::Borrowed(raw);
    }
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let after = &rest[amp + 1..];
        let name = after
            .find(';')
            .map(|semi| &after[..semi])
            .filter(|n| is_reference_name(n));
        match name.and_then(resolve_reference) {
            Some(resolved) => {
                out.push(resolved);
                rest = after.get(name.map_or(0, str::len) + 1..).unwrap_or("");
            }
            None => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    Cow::Owned(out)
}

fn is_reference_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 32
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'#')
}

fn resolve_reference(name: &str) -> Option<char> {
    if let Some(number) = name.strip_prefix('#') {
        let code = match number.strip_prefix('x') {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => number.parse().ok()?,
        };
        return char::from_u32(code).filter(|c| *c != '\0');
    }
    resolve_predefined_entity(name).and_then(|s| s.chars().next())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(text: &str) -> Result<Element, ManifestError> {
        parse(Format::PomXml, text)
    }

    #[test]
    fn reads_names_attributes_and_text() {
        let root = tree(r#"<a xmlns:x="urn:x"><x:b k="1 &amp; 2">hi &lt;there&gt;</x:b><c/></a>"#)
            .unwrap();
        let b = root.child("b").unwrap();
        assert_eq!(b.attr("K"), Some("1 & 2"));
        assert_eq!(b.text(), "hi <there>");
        assert!(root.child("c").is_some());
    }

    #[test]
    fn custom_entities_are_never_expanded() {
        let bomb = r#"<?xml version="1.0"?>
<!DOCTYPE lolz [
  <!ENTITY lol "lol">
  <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<lolz a="&lol3;">&lol3;</lolz>"#;
        let root = tree(bomb).unwrap();
        assert_eq!(root.text(), "&lol3;");
        assert_eq!(root.attr("a"), Some("&lol3;"));
    }

    #[test]
    fn character_references_and_cdata_are_text() {
        let root = tree("<v>&#49;.<![CDATA[2<]]>&#x33;</v>").unwrap();
        assert_eq!(root.text(), "1.2<3");
    }

    #[test]
    fn nesting_is_bounded() {
        let deep = "<a>".repeat(MAX_DEPTH + 1);
        assert_eq!(
            tree(&deep),
            Err(ManifestError::TooDeep { limit: MAX_DEPTH })
        );
    }

    #[test]
    fn malformed_documents_are_errors() {
        let unclosed = tree("<project><dependencies></project>").unwrap_err();
        assert!(
            unclosed.to_string().contains("malformed pom.xml"),
            "{unclosed}"
        );
        let open = tree("<project><dependencies>").unwrap_err();
        assert!(
            open.to_string().contains("<dependencies> is never closed"),
            "{open}"
        );
        assert!(
            tree("")
                .unwrap_err()
                .to_string()
                .contains("no root element")
        );
        assert!(
            tree("<a/><b/>")
                .unwrap_err()
                .to_string()
                .contains("second root")
        );
    }
}
