//! Brian2's expression syntax (Python's): numbers, names, `+ - * / // % **`, comparisons,
//! `and`/`or`/`not`, calls. Every node keeps the column where it starts, for messages.

/// A binary operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bin {
    Add,
    Sub,
    Mul,
    Div,
    /// Python's `a // b`: `floor(a / b)`.
    FloorDiv,
    /// Python's `a % b`: `a - b*floor(a / b)` (the sign of `b`).
    Mod,
    Pow,
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
    And,
    Or,
}

/// An expression; `usize` is the 0-based character column where the node starts.
#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    Num(f64, usize),
    Name(String, usize),
    Neg(Box<Expr>, usize),
    Not(Box<Expr>, usize),
    Bin(Bin, Box<Expr>, Box<Expr>, usize),
    Call(String, Vec<Expr>, usize),
}

impl Expr {
    pub fn col(&self) -> usize {
        match self {
            Expr::Num(_, c) | Expr::Name(_, c) | Expr::Neg(_, c) | Expr::Not(_, c) | Expr::Bin(.., c) | Expr::Call(_, _, c) => *c,
        }
    }

    /// The column where the expression's text starts (its leftmost operand).
    pub fn start(&self) -> usize {
        match self {
            Expr::Bin(_, a, ..) => a.start(),
            e => e.col(),
        }
    }

    /// Whether the expression is a condition: a comparison, `and`, `or` or `not` at its top
    /// (a refractory period given so is Brian2's boolean refractoriness).
    pub fn is_condition(&self) -> bool {
        use Bin::*;
        matches!(self, Expr::Not(..) | Expr::Bin(Lt | Le | Gt | Ge | Eq | Ne | And | Or, ..))
    }

    /// The value of a number (0 for anything else).
    pub fn as_num(&self) -> f64 {
        if let Expr::Num(x, _) = self { *x } else { 0.0 }
    }

    /// Every name the expression reads (functions aside).
    pub fn names(&self, out: &mut Vec<String>) {
        match self {
            Expr::Num(..) => {}
            Expr::Name(n, _) => out.push(n.clone()),
            Expr::Neg(a, _) | Expr::Not(a, _) => a.names(out),
            Expr::Bin(_, a, b, _) => {
                a.names(out);
                b.names(out);
            }
            Expr::Call(_, args, _) => args.iter().for_each(|a| a.names(out)),
        }
    }
}

/// A syntax error: column (0-based, in characters) and what is wrong.
#[derive(Clone, Debug, PartialEq)]
pub struct SyntaxError {
    pub col: usize,
    pub message: String,
}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Num(f64),
    Name(String),
    Op(&'static str),
}

fn lex(text: &str) -> Result<Vec<(Tok, usize)>, SyntaxError> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let start = i;
        if c.is_ascii_digit() || (c == '.' && chars.get(i + 1).is_some_and(|d| d.is_ascii_digit())) {
            while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                i += 1;
            }
            if i < chars.len() && (chars[i] == 'e' || chars[i] == 'E') {
                let mut j = i + 1;
                if j < chars.len() && (chars[j] == '+' || chars[j] == '-') {
                    j += 1;
                }
                if j < chars.len() && chars[j].is_ascii_digit() {
                    i = j;
                    while i < chars.len() && chars[i].is_ascii_digit() {
                        i += 1;
                    }
                }
            }
            let s: String = chars[start..i].iter().collect();
            let v = s.parse::<f64>().map_err(|_| SyntaxError { col: start, message: format!("`{s}` is not a number") })?;
            out.push((Tok::Num(v), start));
            continue;
        }
        if c.is_alphabetic() || c == '_' {
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            out.push((Tok::Name(chars[start..i].iter().collect()), start));
            continue;
        }
        let two: String = chars[i..(i + 2).min(chars.len())].iter().collect();
        let op = ["**", "//", "<=", ">=", "==", "!="].into_iter().find(|o| *o == two);
        if let Some(o) = op {
            out.push((Tok::Op(o), start));
            i += 2;
            continue;
        }
        let one = ["+", "-", "*", "/", "%", "(", ")", ",", "<", ">"].into_iter().find(|o| o.starts_with(c));
        match one {
            Some(o) => {
                out.push((Tok::Op(o), start));
                i += 1;
            }
            None => return Err(SyntaxError { col: start, message: format!("unexpected character `{c}`") }),
        }
    }
    Ok(out)
}

struct Parser {
    toks: Vec<(Tok, usize)>,
    pos: usize,
    end: usize,
    /// Parentheses and unary operators open now.
    nesting: usize,
}

/// Most parentheses and unary operators nested in one another.
const MAX_NESTING: usize = 100;
/// Most operations on the way from an expression's result to any of its values (a sum of
/// n terms is n − 1 deep): deeper ones are refused before they are walked.
pub const MAX_DEPTH: usize = 256;

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|t| &t.0)
    }
    fn col(&self) -> usize {
        self.toks.get(self.pos).map_or(self.end, |t| t.1)
    }
    fn is_op(&self, o: &str) -> bool {
        matches!(self.peek(), Some(Tok::Op(x)) if *x == o)
    }
    fn is_word(&self, w: &str) -> bool {
        matches!(self.peek(), Some(Tok::Name(x)) if x == w)
    }
    fn err<T>(&self, what: &str) -> Result<T, SyntaxError> {
        let found = match self.peek() {
            None => "the end".to_string(),
            Some(Tok::Num(x)) => format!("`{x}`"),
            Some(Tok::Name(n)) => format!("`{n}`"),
            Some(Tok::Op(o)) => format!("`{o}`"),
        };
        Err(SyntaxError { col: self.col(), message: format!("expected {what}, found {found}") })
    }

    fn or(&mut self) -> Result<Expr, SyntaxError> {
        let mut a = self.and()?;
        while self.is_word("or") {
            let c = self.col();
            self.pos += 1;
            a = Expr::Bin(Bin::Or, Box::new(a), Box::new(self.and()?), c);
        }
        Ok(a)
    }
    fn and(&mut self) -> Result<Expr, SyntaxError> {
        let mut a = self.not()?;
        while self.is_word("and") {
            let c = self.col();
            self.pos += 1;
            a = Expr::Bin(Bin::And, Box::new(a), Box::new(self.not()?), c);
        }
        Ok(a)
    }
    fn not(&mut self) -> Result<Expr, SyntaxError> {
        if self.is_word("not") {
            let c = self.col();
            self.pos += 1;
            self.nest()?;
            let inner = self.not();
            self.nesting -= 1;
            return Ok(Expr::Not(Box::new(inner?), c));
        }
        self.cmp()
    }
    fn cmp(&mut self) -> Result<Expr, SyntaxError> {
        let a = self.sum()?;
        let op = match self.peek() {
            Some(Tok::Op("<")) => Bin::Lt,
            Some(Tok::Op("<=")) => Bin::Le,
            Some(Tok::Op(">")) => Bin::Gt,
            Some(Tok::Op(">=")) => Bin::Ge,
            Some(Tok::Op("==")) => Bin::Eq,
            Some(Tok::Op("!=")) => Bin::Ne,
            _ => return Ok(a),
        };
        let c = self.col();
        self.pos += 1;
        let b = self.sum()?;
        if matches!(self.peek(), Some(Tok::Op("<" | "<=" | ">" | ">=" | "==" | "!="))) {
            return Err(SyntaxError { col: self.col(), message: "chained comparisons are not supported: write `a < b and b < c`".into() });
        }
        Ok(Expr::Bin(op, Box::new(a), Box::new(b), c))
    }
    fn sum(&mut self) -> Result<Expr, SyntaxError> {
        let mut a = self.product()?;
        loop {
            let op = if self.is_op("+") {
                Bin::Add
            } else if self.is_op("-") {
                Bin::Sub
            } else {
                return Ok(a);
            };
            let c = self.col();
            self.pos += 1;
            a = Expr::Bin(op, Box::new(a), Box::new(self.product()?), c);
        }
    }
    fn product(&mut self) -> Result<Expr, SyntaxError> {
        let mut a = self.unary()?;
        loop {
            let op = if self.is_op("*") {
                Bin::Mul
            } else if self.is_op("/") {
                Bin::Div
            } else if self.is_op("//") {
                Bin::FloorDiv
            } else if self.is_op("%") {
                Bin::Mod
            } else {
                return Ok(a);
            };
            let c = self.col();
            self.pos += 1;
            a = Expr::Bin(op, Box::new(a), Box::new(self.unary()?), c);
        }
    }
    fn nest(&mut self) -> Result<(), SyntaxError> {
        self.nesting += 1;
        if self.nesting > MAX_NESTING {
            return Err(SyntaxError { col: self.col(), message: format!("more than {MAX_NESTING} parentheses or signs nested in one another") });
        }
        Ok(())
    }

    fn unary(&mut self) -> Result<Expr, SyntaxError> {
        let c = self.col();
        let neg = self.is_op("-");
        if neg || self.is_op("+") {
            self.pos += 1;
            self.nest()?;
            let inner = self.unary();
            self.nesting -= 1;
            let inner = inner?;
            return Ok(if neg { Expr::Neg(Box::new(inner), c) } else { inner });
        }
        self.power()
    }
    fn power(&mut self) -> Result<Expr, SyntaxError> {
        let a = self.atom()?;
        if self.is_op("**") {
            let c = self.col();
            self.pos += 1;
            // Right-associative, and binds tighter than a unary minus on its left only.
            let b = self.unary()?;
            return Ok(Expr::Bin(Bin::Pow, Box::new(a), Box::new(b), c));
        }
        Ok(a)
    }
    fn atom(&mut self) -> Result<Expr, SyntaxError> {
        let c = self.col();
        match self.peek().cloned() {
            Some(Tok::Num(x)) => {
                self.pos += 1;
                Ok(Expr::Num(x, c))
            }
            Some(Tok::Name(n)) if ["and", "or", "not"].contains(&n.as_str()) => self.err("a value"),
            Some(Tok::Name(n)) => {
                self.pos += 1;
                if self.is_op("(") {
                    self.pos += 1;
                    let mut args = Vec::new();
                    if !self.is_op(")") {
                        loop {
                            args.push(self.or()?);
                            if self.is_op(",") {
                                self.pos += 1;
                                continue;
                            }
                            break;
                        }
                    }
                    if !self.is_op(")") {
                        return self.err("`,` or `)`");
                    }
                    self.pos += 1;
                    return Ok(Expr::Call(n, args, c));
                }
                Ok(Expr::Name(n, c))
            }
            Some(Tok::Op("(")) => {
                self.pos += 1;
                self.nest()?;
                let e = self.or();
                self.nesting -= 1;
                let e = e?;
                if !self.is_op(")") {
                    return self.err("`)`");
                }
                self.pos += 1;
                Ok(e)
            }
            _ => self.err("a number, a name or `(`"),
        }
    }
}

/// Parses a whole expression.
pub fn parse(text: &str) -> Result<Expr, SyntaxError> {
    let toks = lex(text)?;
    let mut p = Parser { toks, pos: 0, end: text.chars().count(), nesting: 0 };
    let e = p.or()?;
    if p.pos < p.toks.len() {
        return p.err("an operator or the end");
    }
    // Depth, without recursion (a long sum is a deep tree).
    let mut stack = vec![(&e, 0usize)];
    while let Some((x, d)) = stack.pop() {
        if d > MAX_DEPTH {
            return Err(SyntaxError { col: x.col(), message: format!("more than {MAX_DEPTH} operations deep (a sum of more than {MAX_DEPTH} terms?): split it into subexpressions") });
        }
        match x {
            Expr::Num(..) | Expr::Name(..) => {}
            Expr::Neg(a, _) | Expr::Not(a, _) => stack.push((a, d + 1)),
            Expr::Bin(_, a, b, _) => {
                stack.push((a, d + 1));
                stack.push((b, d + 1));
            }
            Expr::Call(_, args, _) => stack.extend(args.iter().map(|a| (a, d + 1))),
        }
    }
    Ok(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn show(e: &Expr) -> String {
        match e {
            Expr::Num(x, _) => format!("{x}"),
            Expr::Name(n, _) => n.clone(),
            Expr::Neg(a, _) => format!("(-{})", show(a)),
            Expr::Not(a, _) => format!("(not {})", show(a)),
            Expr::Bin(op, a, b, _) => format!("({} {op:?} {})", show(a), show(b)),
            Expr::Call(f, args, _) => format!("{f}({})", args.iter().map(show).collect::<Vec<_>>().join(", ")),
        }
    }

    #[test]
    fn precedence_is_pythons() {
        assert_eq!(show(&parse("a + b*c").unwrap()), "(a Add (b Mul c))");
        assert_eq!(show(&parse("-x**2").unwrap()), "(-(x Pow 2))");
        assert_eq!(show(&parse("x**-2").unwrap()), "(x Pow (-2))");
        assert_eq!(show(&parse("2**3**2").unwrap()), "(2 Pow (3 Pow 2))");
        assert_eq!(show(&parse("a - b - c").unwrap()), "((a Sub b) Sub c)");
        assert_eq!(show(&parse("a/b/c").unwrap()), "((a Div b) Div c)");
        assert_eq!(show(&parse("v > -50*mV and not r").unwrap()), "((v Gt ((-50) Mul mV)) And (not r))");
        assert_eq!(show(&parse("clip(x, 0, 1e-3)").unwrap()), "clip(x, 0, 0.001)");
        assert_eq!(show(&parse(".5e1 + 1.").unwrap()), "(5 Add 1)");
    }

    #[test]
    fn errors_say_where() {
        let e = parse("a + * b").unwrap_err();
        assert_eq!(e.col, 4);
        assert!(e.message.contains("expected a number"), "{}", e.message);
        assert_eq!(parse("(a + b").unwrap_err().col, 6);
        assert_eq!(parse("a $ b").unwrap_err().col, 2);
        assert!(parse("a < b < c").unwrap_err().message.contains("chained"));
        assert_eq!(parse("a b").unwrap_err().col, 2);
        assert!(parse(&format!("{}1{}", "(".repeat(101), ")".repeat(101))).unwrap_err().message.contains("parentheses"));
        assert!(parse(&format!("{}1{}", "(".repeat(99), ")".repeat(99))).is_ok());
        assert!(parse(&"-".repeat(5000)).unwrap_err().message.contains("nested"));
        assert!(parse(&vec!["x"; 300].join(" + ")).unwrap_err().message.contains("more than 256 operations deep"));
        assert!(parse(&vec!["x"; 200].join(" + ")).is_ok());
        assert!(parse(&"(".repeat(100_000)).is_err());
    }
}
