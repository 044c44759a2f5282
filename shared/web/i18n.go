package web

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/loyalty/cashback/shared/loyalty"
)

// Pages speak Russian by default and English when asked: ?lang=en (kept
// in the forms' hidden lang field) or, without one, Accept-Language.
const (
	langRU = "ru"
	langEN = "en"
)

// langOf picks the page's language.
func langOf(r *http.Request) string {
	for _, v := range []string{r.URL.Query().Get("lang"), r.PostFormValue("lang")} {
		if v == langRU || v == langEN {
			return v
		}
	}
	for _, part := range strings.Split(r.Header.Get("Accept-Language"), ",") {
		tag := strings.ToLower(strings.TrimSpace(strings.SplitN(part, ";", 2)[0]))
		switch {
		case strings.HasPrefix(tag, "ru"):
			return langRU
		case strings.HasPrefix(tag, "en"):
			return langEN
		}
	}
	return langRU
}

// messages holds every string of the pages: {Russian, English}. A test
// checks that none is empty in either language.
var messages = map[string][2]string{
	"lang.switch":                   {"English", "Русский"},
	"lang.other":                    {"en", "ru"},
	"enroll.title":                  {"Карта лояльности", "Loyalty card"},
	"enroll.lead":                   {"Получите карту: укажите телефон, мы пришлём код.", "Get your card: enter your phone and we will text you a code."},
	"enroll.haveCard":               {"Уже есть карта? Откройте её", "Already have a card? Open it"},
	"field.phone":                   {"Телефон", "Phone"},
	"field.phone.hint":              {"Например, +7 912 345-67-89", "For example, +7 912 345 67 89"},
	"field.more":                    {"Имя, почта, дата рождения (необязательно)", "Name, email, birth date (optional)"},
	"field.email":                   {"Эл. почта", "Email"},
	"field.name":                    {"Имя", "Name"},
	"field.birthDate":               {"Дата рождения", "Birth date"},
	"field.terms":                   {"Я принимаю условия программы", "I accept the program terms"},
	"field.terms.link":              {"Условия программы", "Program terms"},
	"field.marketing":               {"Хочу получать новости и предложения", "Send me news and offers"},
	"field.code":                    {"Код из SMS", "Code from the text message"},
	"field.code.sent":               {"Мы отправили код на номер %s.", "We sent a code to %s."},
	"field.key":                     {"Ключ сотрудника", "Staff key"},
	"field.q":                       {"Телефон, номер карты или кодовое слово", "Phone, card number or code word"},
	"field.q.hint":                  {"Кодовое слово — после телефона или карты через пробел", "A code word goes after the phone or card, separated by a space"},
	"field.order":                   {"Номер заказа", "Order number"},
	"field.total":                   {"Сумма заказа, ₽", "Order total"},
	"field.giftCard":                {"Подарочная карта при закрытии: номер и сумма, ₽", "Gift card on close: number and amount"},
	"field.giftAmount":              {"Сумма с подарочной карты, ₽", "Amount from the gift card"},
	"cashier.giftCardPaid":          {"С подарочной карты списано %s ₽, на ней осталось %s ₽.", "The gift card paid %s, %s left on it."},
	"err.gift_card_not_found":       {"Подарочная карта не найдена.", "No such gift card."},
	"err.gift_card_expired":         {"Срок действия подарочной карты истёк.", "The gift card has expired."},
	"err.gift_card_insufficient":    {"На подарочной карте недостаточно средств.", "The gift card holds less than that."},
	"err.gift_card_exceeds_order":   {"С подарочной карты нельзя списать больше суммы к оплате.", "The gift card cannot pay more than is left to pay."},
	"field.points":                  {"Списать баллов", "Points to spend"},
	"field.refund":                  {"Сумма возврата, ₽", "Refund amount"},
	"btn.getCode":                   {"Получить код", "Get code"},
	"btn.again":                     {"Начать заново", "Start again"},
	"card.noCard":                   {"Ещё нет карты? Получите её", "No card yet? Get one"},
	"btn.confirm":                   {"Подтвердить", "Confirm"},
	"btn.signIn":                    {"Войти", "Sign in"},
	"btn.signOut":                   {"Выйти", "Sign out"},
	"btn.find":                      {"Найти", "Find"},
	"btn.quote":                     {"Рассчитать", "Quote"},
	"btn.redeem":                    {"Списать баллы", "Spend points"},
	"btn.close":                     {"Закрыть заказ", "Close order"},
	"btn.cancel":                    {"Отменить списание", "Cancel hold"},
	"btn.refund":                    {"Оформить возврат", "Refund"},
	"btn.select":                    {"Выбрать", "Select"},
	"btn.openCard":                  {"Открыть мою карту", "Open my card"},
	"btn.close.dialog":              {"Закрыть", "Close"},
	"done.title":                    {"Карта выпущена", "Your card is ready"},
	"done.lead":                     {"Покажите карту на кассе: кассир отсканирует код.", "Show this card at the till: the cashier scans the code."},
	"card.title":                    {"Моя карта", "My card"},
	"card.signin.lead":              {"Войдите по номеру телефона: мы пришлём код.", "Sign in with your phone: we will text you a code."},
	"card.number":                   {"Номер карты", "Card number"},
	"card.qr":                       {"QR-код карты %s", "QR code of card %s"},
	"card.available":                {"Доступно", "Available"},
	"card.pending":                  {"Ожидает начисления", "Pending"},
	"card.held":                     {"Зарезервировано", "On hold"},
	"card.tier":                     {"Уровень", "Tier"},
	"tier.none":                     {"нет", "none"},
	"tier.next":                     {"Следующий уровень: %s", "Next tier: %s"},
	"tier.top":                      {"У вас высший уровень.", "You hold the top tier."},
	"tier.left.spend":               {"Осталось %s ₽ покупок%s", "%s more to spend%s"},
	"tier.left.category":            {"Осталось %s ₽ покупок в категории «%s»%s", "%s more to spend on %s%s"},
	"tier.left.visits":              {"Осталось покупок: %s%s", "Purchases to go: %s%s"},
	"tier.done.money":               {"%s из %s ₽", "%s of %s"},
	"tier.done.visits":              {"%s из %s", "%s of %s"},
	"tier.progress":                 {"Прогресс до уровня %s", "Progress to %s"},
	"history.stamps":                {"штампы: %s", "stamps: %s"},
	"card.expiry":                   {"%s баллов сгорят %s", "%s points expire on %s"},
	"card.noExpiry":                 {"Баллы не сгорают в ближайшее время.", "No points expire soon."},
	"card.history":                  {"История", "History"},
	"card.history.empty":            {"Операций пока нет.", "No operations yet."},
	"card.history.more":             {"Раньше", "Older"},
	"card.blocked":                  {"Карта заблокирована. Обратитесь на кассу.", "This card is blocked. Please ask at the till."},
	"kind.welcome":                  {"Приветственные баллы", "Welcome points"},
	"kind.redeem":                   {"Резерв баллов", "Points held"},
	"kind.release":                  {"Резерв снят", "Hold released"},
	"kind.capture":                  {"Списание", "Points spent"},
	"kind.accrue":                   {"Начисление", "Points earned"},
	"kind.refund":                   {"Возврат", "Refund"},
	"kind.expire":                   {"Сгорание", "Expired"},
	"kind.mature":                   {"Баллы стали доступны", "Points became available"},
	"kind.adjust":                   {"Корректировка", "Adjustment"},
	"kind.referral":                 {"Баллы за приглашение", "Referral points"},
	"kind.birthday":                 {"Баллы в день рождения", "Birthday points"},
	"cashier.title":                 {"Касса", "Till"},
	"cashier.signin.lead":           {"Войдите с ключом сотрудника.", "Sign in with your staff key."},
	"cashier.who":                   {"Точка продаж: %s · роль: %s", "Point of sale: %s · role: %s"},
	"cashier.noPOS":                 {"без точки", "none"},
	"role.owner":                    {"владелец", "owner"},
	"role.admin":                    {"администратор", "admin"},
	"role.cashier":                  {"кассир", "cashier"},
	"cashier.issue":                 {"Выпустить карту", "Issue a card"},
	"cashier.issue.lead":            {"Карты с этим телефоном нет. Онлайн: отправим код, клиент назовёт его — карта выпущена. Офлайн: отправим SMS со ссылкой на анкету.", "No card has this phone. Now: we text a code, the customer reads it out and the card is issued. Later: we text the link to the form."},
	"cashier.issue.terms":           {"Клиент принимает условия программы", "The customer accepts the program terms"},
	"cashier.issued":                {"Карта %s выпущена.", "Card %s issued."},
	"cashier.linkSent":              {"Ссылка на анкету отправлена на %s.", "The link to the form was sent to %s."},
	"btn.issueOnline":               {"Выпустить онлайн: код клиенту", "Issue now: text a code"},
	"btn.issueLink":                 {"Выпустить офлайн: SMS со ссылкой", "Issue later: text the form's link"},
	"cashier.recent":                {"Последние операции этой точки", "Recent operations at this point of sale"},
	"cashier.recent.empty":          {"Операций пока нет.", "No operations yet."},
	"cashier.recent.hint":           {"Время UTC. Новая операция появляется в списке через несколько секунд.", "Times in UTC. A new operation shows here within seconds."},
	"cashier.member":                {"Клиент", "Customer"},
	"cashier.order":                 {"Заказ", "Order"},
	"cashier.after":                 {"Отмена и возврат", "Cancel and refund"},
	"cashier.found":                 {"Найдено", "Found"},
	"cashier.notFound":              {"Клиент не найден.", "No customer found."},
	"cashier.quote":                 {"Можно списать до %s баллов (%s%% заказа). Начислится %s без списания или %s при списании максимума.", "Up to %s points usable (%s%% of the order). Earns %s without points, or %s when spending the most."},
	"cashier.redeemed":              {"Зарезервировано %s баллов. Закройте заказ, чтобы списать их.", "%s points held. Close the order to spend them."},
	"cashier.closed":                {"Заказ закрыт: списано %s, начислено %s баллов.", "Order closed: %s points spent, %s earned."},
	"cashier.cancelled":             {"Резерв снят: %s баллов вернулись на счёт.", "Hold released: %s points returned."},
	"cashier.refunded":              {"Возврат оформлен: снято начисленных %s, возвращено %s баллов.", "Refund done: %s earned points reversed, %s points returned."},
	"cashier.replayed":              {"Эта операция уже была выполнена — повтор ничего не изменил.", "This was already done — the repeat changed nothing."},
	"cashier.balance":               {"Баланс: %s доступно, %s ожидает, %s в резерве", "Balance: %s available, %s pending, %s on hold"},
	"notFound.title":                {"Страница не найдена", "Page not found"},
	"notFound.lead":                 {"Такой программы лояльности нет. Проверьте ссылку.", "There is no such loyalty program. Please check the link."},
	"wallet.label":                  {"Добавить карту в кошелёк телефона", "Add the card to your phone's wallet"},
	"wallet.apple":                  {"Добавить в Apple Wallet", "Add to Apple Wallet"},
	"wallet.google":                 {"Сохранить в Google Wallet", "Save to Google Wallet"},
	"pass.refused.title":            {"Войдите, чтобы добавить карту", "Sign in to add the card"},
	"pass.refused.lead":             {"Карту в Apple Wallet можно добавить со страницы своей карты после входа по телефону.", "You can add the card to Apple Wallet from your card page after signing in with your phone."},
	"pass.none.title":               {"Карта для кошелька недоступна", "No wallet card available"},
	"pass.none.lead":                {"Эта программа пока не выпускает карты для Apple Wallet.", "This program does not issue Apple Wallet cards yet."},
	"csrf.title":                    {"Форма устарела", "The form has expired"},
	"csrf.lead":                     {"Форма устарела или отправлена не с этой страницы. Обновите страницу и попробуйте снова.", "The form has expired or was not sent from this page. Reload the page and try again."},
	"err.internal":                  {"Что-то пошло не так. Попробуйте ещё раз через минуту.", "Something went wrong. Please try again in a minute."},
	"err.unavailable":               {"Сервис временно недоступен. Попробуйте ещё раз через минуту.", "The service is busy. Please try again in a minute."},
	"err.invalid_phone":             {"Проверьте номер телефона: например, +7 912 345-67-89.", "Please check the phone number, for example +7 912 345 67 89."},
	"err.consent_required":          {"Чтобы получить карту, примите условия программы.", "To get a card, please accept the program terms."},
	"err.too_many_requests":         {"Слишком много попыток. Попробуйте позже.", "Too many attempts. Please try again later."},
	"err.otp_invalid":               {"Неверный код.", "Wrong code."},
	"err.otp_invalid.left":          {"Неверный код. Осталось попыток: %d.", "Wrong code. Attempts left: %d."},
	"err.otp_locked":                {"Слишком много неверных кодов. Запросите новый код.", "Too many wrong codes. Please ask for a new code."},
	"err.otp_expired":               {"Код устарел. Запросите новый код.", "The code has expired. Please ask for a new one."},
	"err.otp_used":                  {"Этот код уже использован. Запросите новый код.", "This code was already used. Please ask for a new one."},
	"err.challenge_not_found":       {"Код устарел. Запросите новый код.", "The code has expired. Please ask for a new one."},
	"err.already_enrolled":          {"У этого телефона уже есть карта. Откройте её на странице карты.", "This phone already has a card. Open it on your card page."},
	"err.enrollment_closed":         {"Программа сейчас не принимает новых участников.", "The program is not taking new members right now."},
	"err.no_active_program":         {"Программа лояльности сейчас не работает.", "The loyalty program is not running right now."},
	"err.phone_not_allowed":         {"На этот номер нельзя отправить SMS. Укажите мобильный телефон.", "We cannot text this number. Please enter a mobile phone."},
	"err.phone_country_not_allowed": {"На номера этой страны коды не отправляются.", "Codes are not sent to numbers of this country."},
	"err.validation_failed":         {"Проверьте введённые данные.", "Please check what you entered."},
	"err.invalid_request":           {"Проверьте введённые данные.", "Please check what you entered."},
	"err.member_not_found":          {"Клиент не найден.", "No such customer."},
	"err.member_blocked":            {"Карта заблокирована.", "This card is blocked."},
	"err.code_word_mismatch":        {"Кодовое слово не подходит.", "The code word does not match."},
	"err.order_not_found":           {"Заказ не найден.", "No such order."},
	"err.order_closed":              {"Заказ уже закрыт.", "This order is already closed."},
	"err.order_not_closed":          {"Заказ ещё не закрыт: вернуть можно только закрытый заказ.", "The order is not closed yet: only a closed order can be refunded."},
	"err.order_member_mismatch":     {"Этот заказ оформлен на другого клиента.", "This order belongs to another customer."},
	"err.insufficient_points":       {"Недостаточно баллов.", "Not enough points."},
	"err.redeem_limit_exceeded":     {"Баллами можно оплатить не больше допустимой доли заказа.", "Points can pay only up to the allowed share of the order."},
	"err.refund_exceeds_order":      {"Сумма возврата больше оплаченной суммы заказа.", "The refund is more than the order's paid amount."},
	"err.refund_id_reused":          {"Этот возврат уже оформлен с другой суммой.", "This refund was already made with another amount."},
	"err.not_a_bonus_program":       {"В дисконтной программе баллов нет.", "A discount program has no points."},
	"err.idempotency_key_reused":    {"Форма уже была отправлена с другими данными. Обновите страницу.", "This form was already sent with other values. Please reload the page."},
	"err.concurrent_update":         {"Данные изменились. Попробуйте ещё раз.", "Something changed meanwhile. Please try again."},
	"err.unauthorized":              {"Ключ не подходит или отозван.", "The key is wrong or was revoked."},
	"err.forbidden":                 {"Это заказ другой точки продаж: у вашего ключа нет к нему доступа.", "This order belongs to another point of sale: your key may not touch it."},
	"err.plan_limit":                {"Достигнут лимит тарифа. Обратитесь к владельцу.", "The plan's limit is reached. Please tell the owner."},
	"err.tenant_not_found":          {"Такой программы лояльности нет.", "There is no such loyalty program."},
	"err.amount":                    {"Укажите сумму числом, например 1500 или 1500,50.", "Enter an amount as a number, for example 1500 or 1500.50."},
	"err.order":                     {"Укажите номер заказа (буквы, цифры, - и _).", "Enter an order number (letters, digits, - and _)."},
	"err.q":                         {"Введите телефон, номер карты или имя.", "Enter a phone, card number or name."},
	"err.code":                      {"Введите код из SMS цифрами.", "Enter the code from the text message in digits."},
	// Referrals.
	"field.referralCode":        {"Код приглашения (если есть)", "Referral code (if you have one)"},
	"card.referralCode":         {"Ваш код для друзей", "Your code for friends"},
	"card.referralCode.hint":    {"Друг вводит его при регистрации — после его первой покупки баллы получите вы оба.", "A friend enters it when joining: after their first purchase you both get points."},
	"err.referral_code_unknown": {"Такого кода приглашения нет. Проверьте его или оставьте поле пустым.", "There is no such referral code. Check it or leave the field empty."},
	"err.referral_self":         {"Это ваш собственный код приглашения.", "This is your own referral code."},
	"err.referral_phone_used":   {"Этот телефон уже был участником программы: код приглашения к нему не применяется.", "This phone has been a member before: a referral code does not apply to it."},
	"err.email":                 {"Проверьте адрес эл. почты.", "Please check the email address."},
	"err.birthDate":             {"Проверьте дату рождения.", "Please check the birth date."},
}

// T returns the string key in lang, formatted with args when given.
func T(lang, key string, args ...any) string {
	m, ok := messages[key]
	if !ok {
		return key
	}
	s := m[0]
	if lang == langEN {
		s = m[1]
	}
	if len(args) > 0 {
		return fmt.Sprintf(s, args...)
	}
	return s
}

// errorText is the readable message of an error in lang: a domain error by
// its code (wrong codes with the attempts left), anything else the generic
// message (the cause goes to the log, never to the page).
func errorText(lang string, err error) string {
	var le *loyalty.Error
	if !errors.As(err, &le) {
		return T(lang, "err.internal")
	}
	if le.Code == loyalty.CodeOTPInvalid && le.Details.AttemptsLeft != nil {
		return T(lang, "err.otp_invalid.left", *le.Details.AttemptsLeft)
	}
	if _, ok := messages["err."+string(le.Code)]; ok {
		return T(lang, "err."+string(le.Code))
	}
	return T(lang, "err.invalid_request")
}
