# zsh -f zsh-complete.zsh DIR LINE: the words zsh's completion adds for LINE + TAB, one a line,
# in DIR/out. An interactive zsh in a pseudo-terminal (zsh/zpty) runs compinit with
# DIR/functions first in $fpath (where _berth is, as installed), and compadd is wrapped to
# write down each match it adds: the words a user is offered. Every step waits for the one
# before it (a TAB typed ahead of the line editor is not completed).
zmodload zsh/zpty
D=$1
await() {
  local i junk
  for i in {1..200}; do
    [[ -e $1 ]] && return 0
    zpty -r -t z junk 2>/dev/null
    sleep 0.05
  done
  return 1
}
zpty z 'zsh -f -i'
zpty -w z "PS1= PS2= ; fpath=($D/functions \$fpath); autoload -U compinit; compinit -u -D; compadd() { if (( \${@[(I)-[OAD]]} )); then builtin compadd \"\$@\"; return; fi; local -a hits; builtin compadd -A hits \"\$@\"; print -rl -- \$hits >> $D/out; builtin compadd \"\$@\"; }; touch $D/ready"
await $D/ready || { print -u2 "zsh did not start"; exit 1 }
zpty -w -n z "$2"$'\t'
await $D/out
zpty -w -n z $'\C-u'
zpty -w z "touch $D/done"
await $D/done || { print -u2 "zsh did not finish the completion"; exit 1 }
zpty -d z
